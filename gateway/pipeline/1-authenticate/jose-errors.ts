import { MandateError } from '../../errors.ts';

/**
 * Translates whatever jose (or a key resolver) threw into the catalogue, by jose's stable `code`,
 * never its message. Details name at most a claim, never a value. Anything unrecognised is a
 * malformed token: verification failures must be refusals, not crashes.
 */
export function toMandateError(error: unknown): MandateError {
  if (error instanceof MandateError) return error;
  const { code, claim, reason } = (error ?? {}) as { code?: unknown; claim?: unknown; reason?: unknown };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return new MandateError('MANDATE_AUTHN_TOKEN_EXPIRED');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      // jose reports a failed time check as reason "check_failed" on nbf (and on iat when in the future).
      if ((claim === 'nbf' || claim === 'iat') && reason === 'check_failed') {
        return new MandateError('MANDATE_AUTHN_TOKEN_NOT_YET_VALID');
      }
      return new MandateError('MANDATE_AUTHN_CLAIM_INVALID', typeof claim === 'string' ? `${claim} claim` : undefined);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new MandateError('MANDATE_AUTHN_SIGNATURE_INVALID');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new MandateError('MANDATE_AUTHN_ALGORITHM_REJECTED');
    default:
      return new MandateError('MANDATE_AUTHN_TOKEN_MALFORMED', undefined, { cause: error });
  }
}
