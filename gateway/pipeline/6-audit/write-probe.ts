/**
 * The readiness probe's table (store.ts `isWritable`): one row, rewritten by each probe, so /readyz
 * proves a commit reaches the disk. Outside the hash chain, like the views; never read by Mandate.
 */
export const writeProbeSql = `
CREATE TABLE IF NOT EXISTS write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), time TEXT NOT NULL) STRICT;
`;
