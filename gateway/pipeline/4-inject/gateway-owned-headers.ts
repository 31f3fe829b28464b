/**
 * Request headers the gateway owns on the way upstream, in one list because two places enforce it:
 * routes.yaml may not add one to a backend's `forward_headers` (config/load.ts), and an agent's
 * `Connection` may not name one for removal (upstream-headers.ts). A name ending in `-*` is a prefix.
 */
const OWNED: readonly OwnedHeader[] = [
  // Identity: the gateway sets these (credential, X-Mandate-*, trace, proxy chain) or strips them (the
  // agent's own token and cookies); an agent's value would impersonate the gateway.
  { name: 'authorization', forwardable: false, connectionOption: false },
  { name: 'cookie', forwardable: false, connectionOption: false },
  { name: 'host', forwardable: false, connectionOption: false },
  { name: 'via', forwardable: false, connectionOption: false },
  { name: 'traceparent', forwardable: false, connectionOption: false },
  { name: 'tracestate', forwardable: false, connectionOption: false },
  { name: 'forwarded', forwardable: false, connectionOption: false },
  { name: 'x-forwarded-*', forwardable: false, connectionOption: false },
  { name: 'x-real-ip', forwardable: false, connectionOption: false },
  { name: 'x-mandate-*', forwardable: false, connectionOption: false },
  // Hop-by-hop (RFC 9110 §7.6.1): they describe the agent's connection, never the next one; naming
  // them in Connection is what Connection is for.
  { name: 'connection', forwardable: false, connectionOption: true },
  { name: 'keep-alive', forwardable: false, connectionOption: true },
  { name: 'te', forwardable: false, connectionOption: true },
  { name: 'trailer', forwardable: false, connectionOption: true },
  { name: 'upgrade', forwardable: false, connectionOption: true },
  { name: 'proxy-authorization', forwardable: false, connectionOption: true },
  // Framing: the body's length as sent upstream. Content-Length passes through (the exact bytes go
  // on), Transfer-Encoding is per hop; a Connection option dropping either would desynchronise them.
  { name: 'content-length', forwardable: true, connectionOption: false },
  { name: 'transfer-encoding', forwardable: false, connectionOption: false },
];

interface OwnedHeader {
  /** Lower case; `x-mandate-*` stands for every name with that prefix. */
  readonly name: string;
  /** Whether routes.yaml may list it in `forward_headers` (only where passing it on is harmless). */
  readonly forwardable: boolean;
  /** Whether an agent's `Connection` may name it (Traefik CVE-2024-45410: a later hop deletes it). */
  readonly connectionOption: boolean;
}

const matches = (header: OwnedHeader, name: string): boolean =>
  header.name.endsWith('-*') ? name.startsWith(header.name.slice(0, -1)) : name === header.name;

/** True when `forward_headers` may not name it: the gateway sets or removes it (name in lower case). */
export function isGatewayOwnedHeader(name: string): boolean {
  return OWNED.some((h) => !h.forwardable && matches(h, name));
}

/** True when a `Connection` option naming it is refused: a later hop must not delete it (lower case). */
export function isProtectedFromConnection(name: string): boolean {
  return OWNED.some((h) => !h.connectionOption && matches(h, name));
}
