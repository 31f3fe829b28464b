import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CryptoKey, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

/**
 * The development signing key: generated on first run under dev.keys_dir (git-ignored ./data), used
 * by `mandate token mint`, and trusted through the issuer whose JWKS file is `<dir>/jwks.json`.
 * Never for production: production tokens come from the token service, signed by keys it manages.
 */
export interface DevKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
}

export async function ensureDevKeys(dir: string): Promise<DevKey> {
  const privatePath = join(dir, 'private.jwk.json');
  if (!existsSync(privatePath)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const kid = `dev-${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`;
    const priv = { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' };
    const pub = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    writeFileSync(privatePath, JSON.stringify(priv), { mode: 0o600 });
    writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [pub] }, null, 2));
  }
  const jwk = JSON.parse(readFileSync(privatePath, 'utf8')) as JWK & { kid: string };
  return { kid: jwk.kid, privateKey: (await importJWK(jwk, 'ES256')) as CryptoKey };
}
