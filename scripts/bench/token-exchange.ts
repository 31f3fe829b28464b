/**
 * The token endpoint under load, for `npm run bench`: RFC 8693 exchanges per second at
 * `POST /oauth2/token` — client authentication (private_key_jwt), actor token, user token, Wasm
 * exchange policy, ES256 signing and the `token_issued` audit event committed (FULL durability) —
 * with autocannon.
 *
 * What is pre-minted: every request carries its own client assertion, because Mandate accepts each
 * assertion once (RFC 7523 §3 `jti` replay check) — so the pool holds exactly one per exchange,
 * minted before the clock starts. The actor token and the user's token are not single-use (valid
 * until they expire, like an agent's own JWT reused across a session), so one of each serves every
 * request. Short calibration runs size the pool to the configured duration.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { type CryptoKey, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { parse, stringify } from 'yaml';
import { benchDir } from './harness.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ISSUER = 'https://bench.mandate';
const IDP = 'https://idp.bench.mandate';
const IDP_AUDIENCE = `${ISSUER}/exchange`;
const AGENT = 'hr-agent';
const CALIBRATION_EXCHANGES = 500;

export interface TokenExchangeResult {
  readonly exchanges: number;
  readonly perSecond: number;
  readonly p50: number;
  readonly p99: number;
  /** CPU time the gateway process spent per exchange (all its threads), µs. */
  readonly cpuPerExchange: number;
}

/**
 * Starts a Mandate with a token service (own temp config, keys and audit database) through `start`
 * — bench.ts's process starter, which also stops it — and measures exchanges per second.
 */
export async function benchTokenExchange(options: {
  start: (args: string[]) => Promise<{ port: number; pid: number | undefined }>;
  /** CPU time a process has used so far, µs (bench.ts's /proc reader). */
  cpuMicros: (pid: number | undefined) => number;
  connections: number;
  seconds: number;
}): Promise<TokenExchangeResult> {
  const dir = benchDir('mandate-bench-tx-');
  const idp = await keyPair(dir, 'idp');
  const agent = await keyPair(dir, 'agent');
  const configFile = writeConfig(dir, idp.jwksFile, agent.jwksFile);
  const { port, pid } = await options.start(['gateway/main.ts', 'serve', '--config', configFile, '--port', '0']);
  const url = `http://127.0.0.1:${port}/oauth2/token`;

  const fixed = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    client_id: AGENT,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    subject_token: await sign(idp, { iss: IDP, sub: 'alice', aud: IDP_AUDIENCE, roles: ['procurement'] }, 'at+jwt'),
    subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
    actor_token: await sign(agent, { iss: AGENT, sub: AGENT, aud: ISSUER }, 'JWT'),
    actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    resource: 'https://procurement.demo.mandate',
    scope: 'procurement:read procurement:write',
    authorization_details: JSON.stringify([{ type: 'procurement_contract', actions: ['cancel'], identifier: '12345' }]),
    intent: 'cancel my contractor agreement with vendor X',
  }).toString();
  const bodies = async (n: number) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const assertion = await sign(agent, { iss: AGENT, sub: AGENT, aud: ISSUER }, 'JWT', '2m');
      out.push(`${fixed}&client_assertion=${assertion}`);
    }
    return out;
  };

  // Warm-up, then about two seconds' worth at the warm rate for a steady one, which sizes the run.
  const warm = await run(url, await bodies(CALIBRATION_EXCHANGES), options.connections);
  const steady = await run(url, await bodies(Math.round(warm.perSecond * 2)), options.connections);
  const exchanges = Math.max(1000, Math.round(steady.perSecond * options.seconds));
  const pool = await bodies(exchanges);
  const cpuBefore = options.cpuMicros(pid);
  const result = await run(url, pool, options.connections);
  return { ...result, cpuPerExchange: (options.cpuMicros(pid) - cpuBefore) / result.exchanges };
}

/** Sends each body once (`amount` = the pool), so no client assertion is replayed. */
async function run(
  url: string,
  bodies: string[],
  connections: number,
): Promise<Omit<TokenExchangeResult, 'cpuPerExchange'>> {
  let next = 0;
  const started = performance.now();
  const r = await autocannon({
    url,
    connections: Math.min(connections, bodies.length),
    amount: bodies.length,
    requests: [
      {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  const seconds = (performance.now() - started) / 1000;
  if (r.non2xx > 0 || r.errors > 0 || next > bodies.length) {
    throw new Error(`token exchange: ${r.non2xx} non-2xx, ${r.errors} errors, ${next} bodies for ${bodies.length}`);
  }
  const total = r.requests.total;
  return { exchanges: total, perSecond: total / seconds, p50: r.latency.p50, p99: r.latency.p99 };
}

/** The table section `npm run bench` prints. */
export function tokenExchangeTable(r: TokenExchangeResult): string {
  return [
    '',
    '| token endpoint (RFC 8693 exchange, audit FULL) | exchanges/s | p50 ms | p99 ms | exchanges | server CPU µs/exchange |',
    '|---|---:|---:|---:|---:|---:|',
    `| POST /oauth2/token | ${Math.round(r.perSecond)} | ${r.p50} | ${r.p99} | ${r.exchanges} | ${Math.round(r.cpuPerExchange)} |`,
  ].join('\n');
}

interface Signer {
  readonly key: CryptoKey;
  readonly kid: string;
  readonly jwksFile: string;
}

async function keyPair(dir: string, name: string): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwksFile = join(dir, `${name}.jwks.json`);
  writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: name, alg: 'ES256' }] }));
  return { key: privateKey, kid: name, jwksFile };
}

function sign(signer: Signer, claims: Record<string, unknown>, typ: string, ttl = '1h'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: signer.kid, typ })
    .setIssuedAt()
    .setExpirationTime(ttl)
    .setJti(crypto.randomUUID())
    .sign(signer.key);
}

/** The repository's routes.yaml with the token service, its IdP and agent pointed at this run's keys. */
function writeConfig(dir: string, idpJwks: string, agentJwks: string): string {
  const config = parse(readFileSync(join(ROOT, 'routes.yaml'), 'utf8'));
  delete config.dev;
  config.gateway.policy_bundle = join(ROOT, '.build/policy');
  config.gateway.audit_db = join(dir, 'audit.db');
  config.gateway.state_db = join(dir, 'state.db');
  config.token_service = { ...config.token_service, issuer: ISSUER, keys_dir: join(dir, 'token-keys') };
  const idp = { issuer: IDP, jwks: { file: idpJwks }, algorithms: ['ES256'] };
  config.issuers = [{ ...idp, user_claims: ['roles'] }];
  config.identity_providers = [{ ...idp, audiences: [IDP_AUDIENCE], user_claims: ['roles'] }];
  config.agents = config.agents.map((a: { id: string }) => (a.id === AGENT ? { ...a, jwks: { file: agentJwks } } : a));
  // No call reaches a backend; their credentials must still be readable at start.
  writeFileSync(join(dir, 'backend.secret'), 'unused');
  for (const b of config.backends) {
    if (b.credential.type !== 'none') b.credential.secret = `file:${join(dir, 'backend.secret')}`;
  }
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, stringify(config));
  return file;
}
