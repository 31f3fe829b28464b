/** `mandate task suspend <txn> [--reason R] [--config routes.yaml]`: the kill switch (see task-state.ts). */
import { runTaskState } from './task-state.ts';

export const run = (args: string[]): Promise<number> => runTaskState('suspend', args);
