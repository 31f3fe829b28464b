import { MandateError } from '../../errors.ts';
import type { ServiceCredential } from './credential.ts';
import { isProtectedFromConnection } from './gateway-owned-headers.ts';

/**
 * Request headers an agent may pass through to a backend. Everything else is dropped: the agent's
 * Authorization and cookies, hop-by-hop fields, and anything imitating gateway identity
 * (X-Mandate-*, Forwarded, X-Forwarded-*, X-Original-URL, method overrides). An allow-list, because a
 * deny-list misses the next framework-internal header (Next.js CVE-2025-29927).
 */
const PASS_THROUGH = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-encoding',
  'content-language',
  'content-length',
  'content-type',
  'idempotency-key',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'prefer',
  'range',
  'user-agent',
]);

/** Who the backend is told it is serving, for backends that can use it (identity_headers: true). */
export interface IdentityHeaders {
  /** The user the agent acts for; null for a background agent's token (`no_user`: no natural person). */
  readonly user: string | null;
  readonly agent: string;
  readonly action: string;
  readonly correlationId: string;
  readonly txn: string | undefined;
}

export interface UpstreamHeaderInput {
  /** The request's headers as received (Node's rawHeaders: name, value, name, value…). */
  readonly rawHeaders: readonly string[];
  readonly extraAllowed: readonly string[];
  readonly credential: ServiceCredential;
  readonly identity: IdentityHeaders | undefined;
  readonly traceparent: string;
  /** The direct peer's address, sent as a fresh X-Forwarded-For (never the client's claim). */
  readonly peerAddress: string | undefined;
}

/** Builds the header set sent upstream. Throws MANDATE_REQUEST_HEADER_SPOOFED on a hostile Connection. */
export function buildUpstreamHeaders(input: UpstreamHeaderInput): Record<string, string> {
  const raw = input.rawHeaders;
  // RFC 9110 §7.6.1: parse Connection first, drop every field it names, then Connection itself.
  const connectionOptions = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '') continue;
      // A client must not be able to make a later hop delete what the gateway set (400, not dropped).
      if (isProtectedFromConnection(name)) {
        throw new MandateError('MANDATE_REQUEST_HEADER_SPOOFED', `Connection names ${name}`);
      }
      connectionOptions.add(name);
    }
  }
  const out: Record<string, string> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (connectionOptions.has(name)) continue;
    if (!PASS_THROUGH.has(name) && !input.extraAllowed.includes(name)) continue;
    const value = raw[i + 1] as string;
    // Repeated list fields are combined (RFC 9110 §5.3); Node has already refused a repeated Content-Length.
    out[name] = name in out ? `${out[name]}, ${value}` : value;
  }
  const credential = input.credential;
  if (credential.header !== undefined && credential.value !== undefined) {
    out[credential.header] = credential.value.reveal();
  }
  if (input.identity) {
    const id = input.identity;
    // Token claims are attacker-influenced strings: percent-encode so no value can break a header line.
    // A background agent must never look like a user upstream: no X-Mandate-User at all (not the
    // agent's id, which is its token's `sub`), and X-Mandate-Principal says which of the two it is, so
    // a backend can require `user` where only a person's request may act.
    out['x-mandate-principal'] = id.user === null ? 'agent' : 'user';
    if (id.user !== null) out['x-mandate-user'] = encodeURIComponent(id.user);
    out['x-mandate-agent'] = encodeURIComponent(id.agent);
    out['x-mandate-action'] = id.action;
    out['x-mandate-correlation-id'] = id.correlationId;
    if (id.txn !== undefined) out['x-mandate-txn'] = encodeURIComponent(id.txn);
  }
  out.traceparent = input.traceparent;
  out.via = '1.1 mandate';
  if (input.peerAddress) out['x-forwarded-for'] = input.peerAddress;
  return out;
}
