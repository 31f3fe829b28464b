/**
 * One worker of the parallel chain scan (verify-parallel.ts): scans the stretch of rows it is given
 * on its own read-only connection and posts the RangeVerdict back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { type RangeScan, scanRange } from './verify.ts';

const { file, scan } = workerData as { file: string; scan: RangeScan };
const db = new Database(file, { readonly: true, fileMustExist: true });
try {
  parentPort!.postMessage(scanRange(db, scan));
} finally {
  db.close();
}
