import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import type { IdentityProviderConfig } from '../config/token-service-schema.ts';
import { MandateError } from '../errors.ts';
import { readSecret, type Secret } from '../pipeline/4-inject/secret.ts';
import { log } from '../telemetry/log.ts';
import type { LoginStore } from './login-store.ts';

/** A user logged in to the approval page. Held server-side; the browser holds only the random id. */
export interface Session {
  readonly id: string;
  readonly user: string;
  readonly issuer: string;
  /** Synchronizer token every form of the page posts back (CSRF). */
  readonly csrf: string;
  readonly expiresAtMs: number;
}

/** A login must come back from the IdP within this long. */
const LOGIN_WINDOW_MS = 10 * 60 * 1000;

/**
 * The approval page's login: Mandate as an OpenID Connect relying party of one identity provider
 * (`identity_providers[].approval_login`), authorization code flow with PKCE (S256), state and nonce,
 * through openid-client. Pending logins and sessions are kept in the state database (login-store.ts),
 * shared by every gateway process on it and kept across restarts.
 */
export class LoginSessions {
  readonly #idp: IdentityProviderConfig;
  readonly #sessionMs: number;
  readonly #now: () => number;
  readonly #store: LoginStore;
  readonly #secret: Secret | undefined;
  #discovered: Promise<client.Configuration> | undefined;

  constructor(idp: IdentityProviderConfig, sessionSeconds: number, store: LoginStore, now: () => number) {
    this.#idp = idp;
    this.#sessionMs = sessionSeconds * 1000;
    this.#store = store;
    this.#now = now;
    // Read at start-up, so a missing secret stops the gateway rather than the first login.
    const ref = idp.approval_login?.client_secret;
    this.#secret = ref === undefined ? undefined : readSecret(ref);
  }

  /** The IdP's authorization URL for a new login, and its `state` (also set as the browser's login cookie). */
  async begin(redirectUri: string): Promise<{ url: string; state: string }> {
    const config = await this.#configuration();
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    this.#store.addLogin(state, { verifier, nonce, redirectUri, expiresAtMs: this.#now() + LOGIN_WINDOW_MS });
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      response_type: 'code',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, state };
  }

  /**
   * Completes a login from the IdP's redirect: the `state` must be one this gateway issued and match
   * the browser's login cookie (so nobody can log a victim in to their own session), then the code
   * is exchanged with the PKCE verifier and the ID token verified (signature, iss, aud, nonce).
   */
  async complete(callback: URL, cookieState: string | undefined): Promise<Session> {
    const state = callback.searchParams.get('state') ?? '';
    const pending = this.#store.takeLogin(state);
    if (pending === undefined || pending.expiresAtMs <= this.#now() || !sameSecret(cookieState, state)) {
      throw new MandateError(
        'MANDATE_APPROVER_UNAUTHENTICATED',
        'the login is unknown, expired or from another browser',
      );
    }
    const config = await this.#configuration();
    // openid-client compares the callback with redirect_uri: it must be the address the IdP redirected to.
    const current = new URL(pending.redirectUri);
    current.search = callback.search;
    let sub: string;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.verifier,
        expectedState: state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      sub = tokens.claims()?.sub ?? '';
    } catch (cause) {
      // The error's name and code only: its cause can carry the ID token's claims (personal data).
      const { name, code } = cause as { name?: unknown; code?: unknown };
      log.info({ error: name, code }, 'approval page login failed');
      throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', 'the identity provider did not confirm the login', {
        cause,
      });
    }
    if (sub === '') throw new MandateError('MANDATE_APPROVER_UNAUTHENTICATED', 'the ID token has no subject');
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      user: sub,
      issuer: this.#idp.issuer,
      csrf: randomBytes(32).toString('base64url'),
      expiresAtMs: this.#now() + this.#sessionMs,
    };
    this.#store.addSession(session.id, session);
    return session;
  }

  /** The live session a cookie names, if any. */
  session(id: string | undefined): Session | undefined {
    if (id === undefined || id === '') return undefined;
    const stored = this.#store.session(id);
    if (stored === undefined) return undefined;
    if (stored.expiresAtMs <= this.#now()) {
      this.#store.endSession(id);
      return undefined;
    }
    return { id, ...stored };
  }

  end(id: string | undefined): void {
    if (id !== undefined) this.#store.endSession(id);
  }

  // Discovered on first use, not at start-up: an IdP that is down must not stop the gateway. A failed
  // discovery is retried on the next login.
  #configuration(): Promise<client.Configuration> {
    this.#discovered ??= this.#discover().catch((cause: unknown) => {
      this.#discovered = undefined;
      throw new MandateError('MANDATE_APPROVAL_UNAVAILABLE', 'the identity provider cannot be reached', { cause });
    });
    return this.#discovered;
  }

  async #discover(): Promise<client.Configuration> {
    const login = this.#idp.approval_login!;
    const secret = this.#secret?.reveal();
    const issuer = new URL(this.#idp.issuer);
    // Plain HTTP only for a loopback IdP (the config loader refuses any other): tests, local development.
    const insecure = issuer.protocol === 'http:';
    return client.discovery(
      issuer,
      login.client_id,
      { id_token_signed_response_alg: this.#idp.algorithms[0] },
      secret === undefined ? client.None() : client.ClientSecretBasic(secret),
      insecure ? { execute: [client.allowInsecureRequests] } : undefined,
    );
  }
}

export function sameSecret(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
