import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import Provider from 'oidc-provider';
import * as client from 'openid-client';
import { tempDir } from '../temp-dir.ts';
import { CRM_AUD, PROCUREMENT_AUD, type Stack, type StackOptions, startStack } from './harness.ts';

/** Mandate's issuer in these tests (the token service's `iss`). */
export const MANDATE_ISSUER = 'https://mandate.test';
/** `aud` of the tokens users approve with at Mandate: never the exchange audience their agents hold. */
export const APPROVER_AUDIENCE = 'https://mandate.test/approvals';
/** What the corporate IdP puts in `aud` of the access tokens it issues for Mandate. */
export const IDP_AUDIENCE = 'https://mandate.test/exchange';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const ID_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:id_token';
export const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

// carol has alice's role: tests that sign a user out use her, so alice's tokens stay usable.
const ROLES: Record<string, string[]> = { alice: ['procurement'], bob: ['support'], carol: ['procurement'] };

/** A real OpenID Provider (node-oidc-provider) on 127.0.0.1: the corporate IdP of alice and bob. */
export interface Idp {
  readonly issuer: string;
  accessToken(user: string, extra?: AccessTokenOptions): Promise<string>;
  /** The user's own token for approving and resuming (`approver_audiences`), which her agent never holds. */
  approverToken(user: string): Promise<string>;
  idToken(user: string): Promise<string>;
  close(): void;
}

export interface AccessTokenOptions {
  readonly mayAct?: Record<string, string>;
  readonly ttlSeconds?: number;
  /** Another `aud` than Mandate's (a token the IdP issued for some other resource server). */
  readonly audience?: string;
}

export async function startIdp(options: { clients?: readonly Record<string, unknown>[] } = {}): Promise<Idp> {
  const server: Server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signing = { ...(await exportJWK(privateKey)), kid: 'corp-idp-1', alg: 'ES256', use: 'sig' };
  const resourceServer = {
    audience: IDP_AUDIENCE,
    scope: 'openid',
    accessTokenFormat: 'jwt' as const,
    jwt: { sign: { alg: 'ES256' as const } },
  };
  let pending: AccessTokenOptions = {};
  const provider = new Provider(issuer, {
    jwks: { keys: [signing] },
    clients: [
      {
        client_id: 'corp-portal',
        client_secret: randomBytes(32).toString('hex'),
        redirect_uris: ['http://127.0.0.1/callback'],
        id_token_signed_response_alg: 'ES256',
      },
      // More relying parties, e.g. Mandate's approval page (approval-page.test.ts).
      ...((options.clients ?? []) as never[]),
    ],
    claims: { openid: ['sub', 'roles'] },
    features: {
      resourceIndicators: {
        enabled: true,
        defaultResource: () => IDP_AUDIENCE,
        getResourceServerInfo: () => resourceServer,
      },
    },
    ttl: { AccessToken: () => pending.ttlSeconds ?? 600, IdToken: 600 },
    // The user's roles (and an optional may_act) as claims of the access token.
    extraTokenClaims: (_ctx, token) => {
      const accountId = (token as { accountId?: string }).accountId ?? '';
      return { roles: ROLES[accountId] ?? [], ...(pending.mayAct ? { may_act: pending.mayAct } : {}) };
    },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, roles: ROLES[id] ?? [] }) }),
  });
  server.on('request', provider.callback());
  const portal = await provider.Client.find('corp-portal');
  const accessToken = async (user: string, extra: AccessTokenOptions = {}): Promise<string> => {
    pending = extra;
    try {
      const at = new provider.AccessToken({
        accountId: user,
        client: portal,
        scope: 'openid',
        resourceServer: extra.audience ? { ...resourceServer, audience: extra.audience } : resourceServer,
      } as never);
      return await at.save();
    } finally {
      pending = {};
    }
  };
  return {
    issuer,
    accessToken,
    approverToken: (user) => accessToken(user, { audience: APPROVER_AUDIENCE }),
    async idToken(user) {
      const token = new provider.IdToken({ sub: user, roles: ROLES[user] ?? [] } as never, { client: portal } as never);
      (token as unknown as { scope: string }).scope = 'openid';
      return (await token.issue({ use: 'idtoken' })) as string;
    },
    close: () => server.close(),
  };
}

/** A registered agent: its own key pair, published to Mandate as a JWKS file. */
export interface Agent {
  readonly id: string;
  readonly key: CryptoKey;
  readonly kid: string;
  readonly jwksFile: string;
}

export async function createAgent(dir: string, id: string): Promise<Agent> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `${id}-${randomBytes(3).toString('hex')}`;
  const jwksFile = join(dir, `${id}.jwks.json`);
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] }),
  );
  return { id, key: privateKey, kid, jwksFile };
}

/** The agent's own JWT, its `actor_token` (RFC 8693 §2.1). */
export function actorToken(
  agent: Agent,
  claims: { sub?: string; ttlSeconds?: number; issuedAt?: number; expiresAt?: number } = {},
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid: agent.kid, typ: 'JWT' })
    .setIssuer(agent.id)
    .setSubject(claims.sub ?? agent.id)
    .setAudience(MANDATE_ISSUER)
    .setIssuedAt(claims.issuedAt)
    .setExpirationTime(claims.expiresAt ?? `${claims.ttlSeconds ?? 120}s`)
    .setJti(crypto.randomUUID())
    .sign(agent.key);
}

export interface TokenStack {
  readonly stack: Stack;
  readonly idp: Idp;
  readonly agents: Record<'hr' | 'sub' | 'other' | 'batch' | 'deep', Agent>;
  /** Runs an exchange as the agent, with openid-client and private_key_jwt, as an agent developer would. */
  grant(agent: Agent, grantType: string, params: Record<string, string>): Promise<client.TokenEndpointResponse>;
  /**
   * A user's delegation to `agent` (RFC 8693): her IdP access token as the subject, the agent's own
   * actor token, then `params` (resource, scope…; they may replace either token).
   */
  delegate(agent: Agent, params: Record<string, string>, user?: string): Promise<client.TokenEndpointResponse>;
  /** Raw POST to /oauth2/token (for what a conforming client library would refuse to send). */
  post(body: string, headers?: Record<string, string>): Promise<Response>;
  stop(): Promise<void>;
}

export async function startTokenStack(
  options: {
    editConfig?: StackOptions['editConfig'];
    env?: StackOptions['env'];
    idpClients?: readonly Record<string, unknown>[];
  } = {},
): Promise<TokenStack> {
  const dir = tempDir('mandate-tx-');
  const idp = await startIdp(options.idpClients ? { clients: options.idpClients } : {});
  const agents = {
    hr: await createAgent(dir, 'hr-agent'),
    sub: await createAgent(dir, 'sub-agent'),
    other: await createAgent(dir, 'other-agent'),
    batch: await createAgent(dir, 'batch-agent'),
    deep: await createAgent(dir, 'deep-agent'),
  };
  const procurementDetails = [{ type: 'procurement_contract', actions: ['read', 'cancel'] }];
  const stack = await startStack({
    ...(options.env ? { env: options.env } : {}),
    editConfig(config) {
      // No leeway, so a test can watch a short-lived IdP token expire.
      config.gateway.tokens.clock_skew_seconds = 0;
      config.token_service = {
        issuer: MANDATE_ISSUER,
        keys_dir: join(dir, 'token-keys'),
        token_lifetime_seconds: 300,
        max_task_lifetime_seconds: 3600,
        max_chain_depth: 2,
      };
      // The test issuer mints delegation tokens for the IdP's users (alice is one person): one namespace.
      for (const issuer of config.issuers) issuer.user_namespace = 'corp';
      config.identity_providers = [
        {
          user_namespace: 'corp',
          issuer: idp.issuer,
          jwks: { url: `${idp.issuer}/jwks` },
          algorithms: ['ES256'],
          audiences: [IDP_AUDIENCE],
          approver_audiences: [APPROVER_AUDIENCE],
          user_claims: ['roles'],
        },
      ];
      const agent = (a: Agent, ceiling: Record<string, unknown>) => ({ id: a.id, jwks: { file: a.jwksFile }, ceiling });
      config.agents = [
        agent(agents.hr, {
          backends: ['procurement'],
          scopes: ['procurement:read', 'procurement:write'],
          authorization_details: procurementDetails,
          delegate_to: ['sub-agent'],
        }),
        agent(agents.sub, {
          backends: ['procurement'],
          scopes: ['procurement:read', 'procurement:write'],
          authorization_details: procurementDetails,
          delegate_to: ['deep-agent'],
        }),
        agent(agents.deep, { backends: ['procurement'], scopes: ['procurement:read'] }),
        agent(agents.other, { backends: ['procurement', 'crm'], scopes: ['procurement:read', 'crm:read'] }),
        agent(agents.batch, { backends: ['crm'], scopes: ['crm:read'], background: true }),
      ];
      options.editConfig?.(config);
    },
  });
  const configFor = (agent: Agent) => {
    const config = new client.Configuration(
      { issuer: MANDATE_ISSUER, token_endpoint: `${stack.url}/oauth2/token` },
      agent.id,
      { token_endpoint_auth_method: 'private_key_jwt' },
      client.PrivateKeyJwt({ key: agent.key, kid: agent.kid }),
    );
    client.allowInsecureRequests(config);
    return config;
  };
  return {
    stack,
    idp,
    agents,
    grant: (agent, grantType, params) => client.genericGrantRequest(configFor(agent), grantType, params),
    delegate: async (agent, params, user = 'alice') =>
      client.genericGrantRequest(configFor(agent), TOKEN_EXCHANGE, {
        subject_token: await idp.accessToken(user),
        subject_token_type: ACCESS_TOKEN_TYPE,
        actor_token: await actorToken(agent),
        actor_token_type: JWT_TYPE,
        ...params,
      }),
    post: (body, headers = {}) =>
      fetch(`${stack.url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      }),
    async stop() {
      await stack.stop();
      idp.close();
    },
  };
}

export { CRM_AUD, PROCUREMENT_AUD };
