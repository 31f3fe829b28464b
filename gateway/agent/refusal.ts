/**
 * Mandate said no: the proxy refused a tool call (`application/problem+json`, a `MANDATE_*` code) or
 * the token endpoint refused a delegation (RFC 6749 §5.2, an OAuth error such as `invalid_scope`).
 * Carries what an agent needs to ask its user rather than guess: the stable code, the policy's
 * reasons and the correlation id an operator finds the audit row by. Never a token.
 */
export class MandateRefusal extends Error {
  /** `MANDATE_AUTHZ_DENIED`, `MANDATE_AUTHN_TOKEN_EXPIRED`, … or, from the token endpoint, `invalid_scope`, … */
  readonly code: string;
  readonly status: number;
  /** Where it was refused: a tool call through the proxy, or the token exchange. */
  readonly at: 'proxy' | 'token_endpoint';
  /** The policy's reasons, e.g. `intent.identifier_mismatch` (proxy policy denials only). */
  readonly reasons: readonly string[];
  /** `X-Mandate-Correlation-Id`: the audit trail's key for this refusal; null when none was sent. */
  readonly correlationId: string | null;

  constructor(fields: {
    code: string;
    status: number;
    at: 'proxy' | 'token_endpoint';
    title: string;
    reasons?: readonly string[];
    correlationId?: string | null;
  }) {
    const reasons = fields.reasons ?? [];
    super(`${fields.code}: ${fields.title}${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`);
    this.name = 'MandateRefusal';
    this.code = fields.code;
    this.status = fields.status;
    this.at = fields.at;
    this.reasons = reasons;
    this.correlationId = fields.correlationId ?? null;
  }
}

/** Codes of {@link MandateAgentError}: the helper refused to do something unsafe or impossible. */
export type MandateAgentErrorCode =
  /** A request to an origin other than Mandate's: the delegation is never attached to it. */
  | 'ERR_MANDATE_FOREIGN_ORIGIN'
  /** Plain http to a host other than loopback, without `allowInsecureHttp`. */
  | 'ERR_MANDATE_INSECURE_URL'
  /** The discovered metadata names another issuer than expected. */
  | 'ERR_MANDATE_ISSUER_MISMATCH'
  /** The agent's key is not a private signing key of a supported algorithm. */
  | 'ERR_MANDATE_KEY_UNSUPPORTED';

/** A local refusal of the helper, before anything was sent. */
export class MandateAgentError extends Error {
  readonly code: MandateAgentErrorCode;

  constructor(code: MandateAgentErrorCode, message: string) {
    super(message);
    this.name = 'MandateAgentError';
    this.code = code;
  }
}

const MANDATE_ERROR_TYPE = 'urn:mandate:error:';

/**
 * The refusal in a proxy response, or undefined when the response is not one of Mandate's own
 * (a backend's answer relayed as-is, even an error, is the tool's business). Reads a clone, so the
 * response stays readable.
 */
export async function readRefusal(response: Response): Promise<MandateRefusal | undefined> {
  if (response.ok || !response.headers.get('content-type')?.startsWith('application/problem+json')) return undefined;
  let body: unknown;
  try {
    body = await response.clone().json();
  } catch {
    return undefined;
  }
  const { type, code, title, reasons, correlation_id } = (body ?? {}) as Record<string, unknown>;
  if (typeof type !== 'string' || !type.startsWith(MANDATE_ERROR_TYPE) || typeof code !== 'string') return undefined;
  return new MandateRefusal({
    code,
    status: response.status,
    at: 'proxy',
    title: typeof title === 'string' ? title : 'Refused by Mandate',
    reasons: Array.isArray(reasons) ? reasons.filter((r): r is string => typeof r === 'string') : [],
    correlationId:
      typeof correlation_id === 'string' ? correlation_id : response.headers.get('x-mandate-correlation-id'),
  });
}
