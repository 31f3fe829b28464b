/** One party in the delegation chain (RFC 8693 §4.1 `act`). */
export interface Actor {
  readonly sub: string;
  readonly iss?: string;
}

/**
 * Who is calling, on whose behalf, with what intent: the verified content of a delegation token.
 * Produced by `authenticate`; never contains the raw token (only its SHA-256).
 */
export interface Principal {
  /** `sub`: the user the agent acts for. */
  readonly user: string;
  /** `iss`: the issuer that signed the token. */
  readonly issuer: string;
  /** The current actor: the outermost `act` (RFC 8693 §4.1: the only actor used for access control). */
  readonly agent: Actor;
  /** The whole chain, outermost (current) actor first, least recent last. */
  readonly chain: readonly Actor[];
  readonly jti: string;
  readonly audience: readonly string[];
  readonly scopes: readonly string[];
  /** RFC 9396 `authorization_details`, as signed. */
  readonly authorizationDetails: readonly Readonly<Record<string, unknown>>[];
  /** Task id. */
  readonly txn: string | undefined;
  /** The user's instruction text. */
  readonly intent: string | undefined;
  readonly clientId: string | undefined;
  /** Seconds since the epoch. */
  readonly issuedAt: number;
  readonly expiresAt: number;
  /** Allow-listed user claims (issuers[].user_claims), e.g. roles, region. */
  readonly attributes: Readonly<Record<string, unknown>>;
  /** Hex SHA-256 of the compact token: lets auditors correlate without storing the token. */
  readonly tokenHash: string;
  /**
   * The token's `no_user` claim is true: a background agent's token, no natural person involved.
   * `user` then holds the agent's id (the token's `sub`); audit rows and the policy input show no user.
   */
  readonly noUser?: true;
}
