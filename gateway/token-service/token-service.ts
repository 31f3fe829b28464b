import type { Config } from '../config/load.ts';
import type { IssuerConfig } from '../config/schema.ts';
import type { TokenServiceConfig } from '../config/token-service-schema.ts';
import type { TrustedIssuer, Verifier } from '../pipeline/1-authenticate/verify-token.ts';
import { loadPartyKeys } from './party-keys.ts';
import type { RegisteredAgent } from './registered-agent.ts';
import { SigningKeys } from './signing-keys.ts';
import type { TrustedIdentityProvider } from './subject-token.ts';

/** The token service's state, built once at start-up from a validated Config. */
export interface TokenService {
  readonly config: TokenServiceConfig;
  readonly keys: SigningKeys;
  readonly agents: ReadonlyMap<string, RegisteredAgent>;
  readonly identityProviders: ReadonlyMap<string, TrustedIdentityProvider>;
  /** Mandate as an issuer the proxy trusts, with its key set in-process. */
  readonly ownIssuer: TrustedIssuer;
  /** Verifies Mandate's own tokens presented as subject_token, with the proxy's checks. */
  readonly ownVerifier: Verifier;
  /** `aud` accepted in client assertions and actor tokens: the issuer and the token endpoint. */
  readonly audiences: readonly string[];
  /** Client assertion ids already used, with when they stop mattering (seconds). */
  readonly seenAssertions: Map<string, number>;
  close(): void;
}

export const TOKEN_ENDPOINT_PATH = '/oauth2/token';

/** Undefined when routes.yaml has no `token_service`. Unreadable agent or IdP key files stop start-up. */
export async function createTokenService(config: Config, now: () => number): Promise<TokenService | undefined> {
  const ts = config.token_service;
  if (!ts) return undefined;
  const tokens = config.gateway.tokens;
  const keys = await SigningKeys.open({
    dir: ts.keys_dir,
    algorithm: ts.algorithm,
    rotateAfterSeconds: ts.rotate_after_seconds,
    tokenLifetimeSeconds: ts.token_lifetime_seconds,
    clockSkewSeconds: tokens.clock_skew_seconds,
    now,
  });
  const agents = new Map<string, RegisteredAgent>();
  for (const agent of config.agents) {
    agents.set(agent.id, { config: agent, keys: await loadPartyKeys(`agent ${agent.id}`, agent.jwks, now) });
  }
  const identityProviders = new Map<string, TrustedIdentityProvider>();
  for (const idp of config.identity_providers) {
    identityProviders.set(idp.issuer, { config: idp, keys: await loadPartyKeys(idp.issuer, idp.jwks, now) });
  }
  const ownConfig: IssuerConfig = {
    issuer: ts.issuer,
    jwks: { file: '(in-process: token_service.keys_dir)' },
    algorithms: [ts.algorithm],
    // The user claims the token service carries forward, so the proxy's policies see them.
    user_claims: [...new Set(config.identity_providers.flatMap((idp) => idp.user_claims))],
  };
  const ownIssuer: TrustedIssuer = { config: ownConfig, keys: keys.keySet };
  return {
    config: ts,
    keys,
    agents,
    identityProviders,
    ownIssuer,
    ownVerifier: {
      issuers: new Map([[ts.issuer, ownIssuer]]),
      algorithms: new Set([ts.algorithm]),
      limits: tokens,
      now,
    },
    audiences: [ts.issuer, `${ts.issuer.replace(/\/$/, '')}${TOKEN_ENDPOINT_PATH}`],
    seenAssertions: new Map(),
    close() {
      for (const party of [...agents.values(), ...identityProviders.values()]) party.keys.close();
    },
  };
}
