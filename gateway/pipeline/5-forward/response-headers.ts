/**
 * Hop-by-hop response fields never relayed to the agent (RFC 9110 §7.6.1), plus any field the
 * backend's own Connection header names.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * The backend's response fields as relayed to the agent, plus the correlation id every response of
 * the gateway carries, which replaces any the backend sent. All fields go in this one object, for one
 * `writeHead`: a field set before it with `setHeader` makes Node re-validate and store every other
 * field one by one (measured ≈ 4 µs per response).
 */
export function relayableResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  correlationId: string,
): Record<string, string | string[]> {
  const connection = headers.connection;
  const named =
    connection === undefined
      ? undefined
      : new Set(
          String(connection)
            .split(',')
            .map((t) => t.trim().toLowerCase())
            .filter(Boolean),
        );
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || named?.has(name)) continue;
    out[name] = value;
  }
  out['x-mandate-correlation-id'] = correlationId;
  return out;
}
