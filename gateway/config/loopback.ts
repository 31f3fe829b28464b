/** Host names that reach only this machine: where plain http is acceptable (tests, local development). */
export const LOOPBACK: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);
