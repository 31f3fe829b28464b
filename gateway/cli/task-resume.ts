/** `mandate task resume <txn> [--reason R] [--config routes.yaml]`: undoes a suspension, with a fresh budget (see task-state.ts). */
import { runTaskState } from './task-state.ts';

export const run = (args: string[]): Promise<number> => runTaskState('resume', args);
