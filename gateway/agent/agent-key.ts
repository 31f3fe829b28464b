import { type CryptoKey, importJWK, type JWK } from 'jose';
import { MandateAgentError } from './refusal.ts';

/** The agent as registered in Mandate's routes.yaml (`agents[]`): its id and its private key. */
export interface AgentIdentity {
  /** `agents[].id`: the agent's client_id, and `iss`/`sub` of the JWTs it signs. */
  readonly id: string;
  /** The private key whose public half is registered: a CryptoKey, or a private JWK (with `d`). */
  readonly key: CryptoKey | JWK;
  /** Key id; defaults to the JWK's `kid`. Lets Mandate pick the right key when several are registered. */
  readonly kid?: string;
}

/** The agent's signing key, ready for both of its JWTs (client assertion and actor token). */
export interface AgentKey {
  readonly id: string;
  readonly key: CryptoKey;
  readonly kid: string | undefined;
  readonly alg: string;
}

export async function importAgentKey(agent: AgentIdentity): Promise<AgentKey> {
  const isJwk = !(agent.key instanceof globalThis.CryptoKey);
  const kid = agent.kid ?? (isJwk ? (agent.key as JWK).kid : undefined);
  let key: CryptoKey;
  if (isJwk) {
    const jwk = agent.key as JWK;
    if (typeof jwk.d !== 'string') throw unsupported('the JWK has no private part (d)');
    const alg = jwk.alg ?? jwkAlgorithm(jwk);
    key = (await importJWK(jwk, alg)) as CryptoKey;
  } else {
    key = agent.key as CryptoKey;
  }
  if (key.type !== 'private' || !key.usages.includes('sign')) throw unsupported('not a private signing key');
  return { id: agent.id, key, kid, alg: keyAlgorithm(key) };
}

/** The JWS algorithm a key signs with (RFC 7518 §3.1; EdDSA per RFC 8037). */
function keyAlgorithm(key: CryptoKey): string {
  const a = key.algorithm as { name: string; namedCurve?: string; hash?: { name: string } };
  if (a.name === 'ECDSA') {
    const alg = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[a.namedCurve ?? ''];
    if (alg) return alg;
  }
  if (a.name === 'Ed25519') return 'EdDSA';
  if (a.name === 'RSASSA-PKCS1-v1_5' && a.hash?.name === 'SHA-256') return 'RS256';
  if (a.name === 'RSA-PSS' && a.hash?.name === 'SHA-256') return 'PS256';
  throw unsupported(`${a.name} ${a.namedCurve ?? a.hash?.name ?? ''}`.trim());
}

function jwkAlgorithm(jwk: JWK): string {
  if (jwk.kty === 'EC') {
    const alg = { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv ?? ''];
    if (alg) return alg;
  }
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  throw unsupported(`a ${jwk.kty ?? 'typeless'} JWK without alg`);
}

function unsupported(what: string): MandateAgentError {
  return new MandateAgentError('ERR_MANDATE_KEY_UNSUPPORTED', `agent key unsupported: ${what}`);
}
