/**
 * A string claim read from a JWT before verification, only to select whose keys verify it; the
 * verification then requires the same value. Undefined for anything unparseable.
 */
export function unverifiedClaim(jwt: string, name: 'iss' | 'sub'): string | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8')) as unknown;
    const value = (payload as Record<string, unknown> | null)?.[name];
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
