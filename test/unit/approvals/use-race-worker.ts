import { parentPort, workerData } from 'node:worker_threads';
import { ApprovalStore } from '../../../gateway/approvals/approval-store.ts';

/**
 * One side of approval-store.test.ts's race: its own connection to the state database, released by a
 * shared start flag at the same moment as the other side, then trying to use every approval.
 */
const { file, ids, start, nowMs } = workerData as {
  file: string;
  ids: string[];
  start: SharedArrayBuffer;
  nowMs: number;
};
const store = ApprovalStore.open(file, { busyTimeoutMs: 5000 });
const flag = new Int32Array(start);
Atomics.add(flag, 1, 1);
Atomics.wait(flag, 0, 0);
const won = ids.filter((id) => store.use(id, nowMs));
store.close();
parentPort!.postMessage(won);
