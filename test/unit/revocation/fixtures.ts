import type { RevocationSubject } from '../../../gateway/revocation/revocation.ts';

/** A whole second, as `iat` is: the tokens' issue time unless a test says otherwise. */
export const T = 1_767_225_600;

/** The revocation-relevant facts of alice's token through hr-agent for task-1, with overrides. */
export const token = (overrides: Partial<RevocationSubject> = {}): RevocationSubject => ({
  jti: 'jti-1',
  user: 'alice',
  agents: ['hr-agent'],
  txn: 'task-1',
  issuedAtSeconds: T,
  ...overrides,
});
