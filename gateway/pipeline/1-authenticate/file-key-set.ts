import { readFile } from 'node:fs/promises';
import { toLocalKeySet } from './jwks-document.ts';
import type { KeySet } from './key-set.ts';

/**
 * A key set read once from a JWKS file at start-up (`jwks: {file}`). An unreadable or unusable file
 * stops start-up: a gateway that cannot verify anything must not look healthy.
 */
export async function loadFileKeySet(issuer: string, file: string): Promise<KeySet> {
  try {
    const getKey = toLocalKeySet(JSON.parse(await readFile(file, 'utf8')));
    return { getKey, close() {} };
  } catch (cause) {
    throw new Error(`issuer ${issuer}: cannot load JWKS file ${file}: ${(cause as Error).message}`, { cause });
  }
}
