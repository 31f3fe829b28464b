import { request } from 'undici';

/** A key set larger than this is refused: no real issuer publishes megabytes of keys. */
const MAX_JWKS_BYTES = 1024 * 1024;

/**
 * GETs a JWKS document. Everything that is not a 200 with a JSON body within `timeoutMs` (connect,
 * headers and body together) is an error. Redirects are not followed (undici's default): a key
 * server answering 3xx is misconfigured, and following it would let the key source move.
 */
export async function fetchJwks(url: string, timeoutMs: number): Promise<unknown> {
  const { statusCode, body } = await request(url, {
    method: 'GET',
    headers: { accept: 'application/jwk-set+json, application/json' },
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (statusCode !== 200) {
    await body.dump().catch(() => {}); // discard the body, keep the connection reusable
    throw new Error(`key server answered HTTP ${statusCode}`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > MAX_JWKS_BYTES) throw new Error(`key set larger than ${MAX_JWKS_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('key server answered invalid JSON');
  }
}
