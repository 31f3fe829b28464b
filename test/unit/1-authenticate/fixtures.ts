import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { type Config, parseConfig } from '../../../gateway/config/load.ts';
import type { ErrorCode } from '../../../gateway/errors.ts';
import { tempDir } from '../../temp-dir.ts';

/** Shared set-up for the stage-1 tests: keys generated per run, an injected clock, token minting. */

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'https://procurement.test';
/** 2030-01-01T00:00:00Z: far from the real clock, so nothing passes by accident. */
export const T0 = 1_893_456_000;

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicKey, publicJwk };
}

/** A mutable clock in seconds, handed to the Authenticator as milliseconds. */
export class Clock {
  seconds = T0;
  readonly now = (): number => this.seconds * 1000;
}

export async function writeJwksFile(keys: readonly JWK[]): Promise<string> {
  const file = join(tempDir('mandate-authn-'), 'jwks.json');
  await writeFile(file, JSON.stringify({ keys }));
  return file;
}

/** A full, validated Config (same loader as the server) around the given issuers and token limits. */
export function configWith(issuers: readonly unknown[], tokens: Record<string, number> = {}): Config {
  const raw = {
    version: 1,
    gateway: {
      tokens: {
        max_lifetime_seconds: 3600,
        clock_skew_seconds: 30,
        max_bytes: 8192,
        cache_entries: 100,
        max_chain_depth: 3,
        ...tokens,
      },
    },
    issuers,
    backends: [{ name: 'procurement', url: 'http://127.0.0.1:1', audience: AUDIENCE, credential: { type: 'none' } }],
    routes: [
      {
        backend: 'procurement',
        method: 'GET',
        path: '/contracts',
        action: 'procurement.contract.list',
        resource: { type: 'contract' },
        upstream_path: '/contracts',
      },
    ],
  };
  return parseConfig(JSON.stringify(raw), join(tmpdir(), 'routes.yaml'));
}

/** Claims of a valid delegation token issued at `now`; `undefined` members are left out. */
export function claims(now: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const all: Record<string, unknown> = {
    iss: ISSUER,
    sub: 'alice',
    aud: AUDIENCE,
    jti: randomUUID(),
    iat: now,
    exp: now + 300,
    client_id: 'agent-platform',
    act: { sub: 'procurement-agent', iss: 'https://agents.test', act: { sub: 'planner-agent' } },
    scope: 'contracts:read contracts:cancel',
    authorization_details: [{ type: 'contract_action', actions: ['cancel'], identifier: 'C-1' }],
    txn: 'task-42',
    intent: 'Cancel contract C-1, it was duplicated.',
    roles: ['buyer'],
    region: 'eu',
    email: 'alice@example.test',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined));
}

export function mint(key: SigningKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}) {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid, ...header })
    .sign(key.privateKey);
}

/** A compact token assembled by hand, for headers jose refuses to produce. */
export function handBuilt(header: unknown, payload: unknown, signature = 'c2lnbmF0dXJl'): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part(header)}.${part(payload)}.${signature}`;
}

export function bearer(token: string, url = '/contracts'): { rawHeaders: string[]; url: string } {
  return { rawHeaders: ['Host', 'gateway.test', 'Authorization', `Bearer ${token}`], url };
}

/** Asserts a promise (or call) is refused with exactly this catalogue code. */
export async function assertRefused(attempt: Promise<unknown> | (() => unknown), code: ErrorCode): Promise<void> {
  await assert.rejects(async () => (typeof attempt === 'function' ? attempt() : attempt), {
    name: 'MandateError',
    code,
  });
}
