import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters } from 'jose';

/**
 * One issuer's verification keys. Lookups are scoped to that issuer (RFC 8725 §3.8: keys must belong
 * to the `iss`), so a key of one trusted issuer can never verify a token claiming another.
 */
export interface KeySet {
  /**
   * jose key resolver: the single key matching the header's `kid` and `alg`. Throws jose's
   * ERR_JWKS_NO_MATCHING_KEY when there is none, MANDATE_AUTHN_KEYS_UNAVAILABLE when no key set was
   * ever loaded.
   */
  readonly getKey: (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;
  /** Stops background refresh. */
  close(): void;
}
