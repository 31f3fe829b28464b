import { MandateError } from '../errors.ts';
import type { Principal } from '../pipeline/1-authenticate/principal.ts';
import { revocationSubject } from './assert-not-revoked.ts';
import type { Revocations } from './revocations.ts';

/**
 * For what outlives one request (a WebSocket tunnel): a signal that aborts, with
 * MANDATE_AUTHN_TOKEN_REVOKED as its reason, when a revocation reaches the principal's token — by
 * jti, user, task or any agent on its chain. `stop` when the holder is done with the token.
 */
export function revocationSignal(
  revocations: Revocations,
  principal: Principal,
): { signal: AbortSignal; stop(): void } {
  const controller = new AbortController();
  const stop = revocations.watch(revocationSubject(principal), () =>
    controller.abort(new MandateError('MANDATE_AUTHN_TOKEN_REVOKED', 'the tunnel closed when its token was revoked')),
  );
  return { signal: controller.signal, stop };
}
