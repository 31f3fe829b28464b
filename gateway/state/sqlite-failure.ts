/**
 * What a SQLite error says about the storage under it. better-sqlite3 puts SQLite's extended result
 * code (e.g. `SQLITE_IOERR_FSYNC`) in the error's `code`; these read its primary code.
 */

/**
 * The storage cannot answer right now: an I/O error, a full disk, a lock held past the busy timeout,
 * a read-only or unopenable file. Not a bug in the statement: a refusal (503) rather than a 500.
 */
export function isStorageUnavailable(e: unknown): boolean {
  return /^SQLITE_(IOERR|FULL|BUSY|LOCKED|READONLY|CANTOPEN)(_|$)/.test(codeOf(e));
}

/**
 * A write or an fsync failed: what was committed since the last good fsync may be lost, and Linux may
 * report the next fsync as a success regardless, so the connection's writes can no longer be trusted.
 */
export function isIoError(e: unknown): boolean {
  return /^SQLITE_IOERR(_|$)/.test(codeOf(e));
}

const codeOf = (e: unknown): string => String((e as { code?: unknown } | null)?.code);
