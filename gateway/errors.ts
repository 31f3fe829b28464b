/**
 * The closed error catalogue. Every refusal Mandate produces has exactly one entry here: a stable
 * code (what agents and tests match on), the HTTP status, the audit reason (`stage.condition`) and,
 * for token failures, the RFC 6750 §3.1 `WWW-Authenticate` error. The README lists every code and a
 * test keeps the two in sync.
 */
export const catalogue = {
  // Request shape, before any credential is looked at.
  MANDATE_REQUEST_MALFORMED: { status: 400, reason: 'request.malformed', title: 'Malformed request' },
  MANDATE_REQUEST_HEADER_SPOOFED: {
    status: 400,
    reason: 'request.header_spoofed',
    title: 'Connection header names a gateway-controlled field',
  },
  MANDATE_PATH_AMBIGUOUS: {
    status: 400,
    reason: 'resolve.path_ambiguous',
    title: 'Ambiguous request path (encoded slash, dot segment, empty segment, ...)',
  },
  MANDATE_UPGRADE_UNSUPPORTED: {
    status: 400,
    reason: 'request.upgrade_unsupported',
    title: 'Only WebSocket upgrades (GET with Upgrade: websocket) are accepted',
  },

  // 1. Authenticate.
  MANDATE_AUTHN_CREDENTIAL_MISSING: {
    status: 401,
    reason: 'authn.credential_missing',
    title: 'Bearer token required',
    // RFC 6750 §3.1: a request without any credential gets the challenge without an error code.
    wwwAuthenticate: 'none',
  },
  MANDATE_AUTHN_CREDENTIAL_DUPLICATED: {
    status: 400,
    reason: 'authn.credential_duplicated',
    title: 'More than one credential presented',
    wwwAuthenticate: 'invalid_request',
  },
  MANDATE_AUTHN_CREDENTIAL_IN_QUERY: {
    status: 400,
    reason: 'authn.credential_in_query',
    title: 'Tokens are not accepted in the query string',
    wwwAuthenticate: 'invalid_request',
  },
  MANDATE_AUTHN_CREDENTIAL_IN_COOKIE: {
    status: 400,
    reason: 'authn.credential_in_cookie',
    title: 'Cookies are not accepted as credentials',
    wwwAuthenticate: 'invalid_request',
  },
  MANDATE_AUTHN_TOKEN_MALFORMED: {
    status: 401,
    reason: 'authn.token_malformed',
    title: 'Token is not a well-formed compact JWS',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_TOKEN_TOO_LARGE: {
    status: 401,
    reason: 'authn.token_too_large',
    title: 'Token exceeds the size limit',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_TOKEN_TYPE_INVALID: {
    status: 401,
    reason: 'authn.token_type_invalid',
    title: 'Token typ must be at+jwt',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_ALGORITHM_REJECTED: {
    status: 401,
    reason: 'authn.algorithm_rejected',
    title: 'Token signing algorithm not allowed for this issuer',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_ISSUER_UNKNOWN: {
    status: 401,
    reason: 'authn.issuer_unknown',
    title: 'Token issuer is not trusted',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_SIGNATURE_INVALID: {
    status: 401,
    reason: 'authn.signature_invalid',
    title: 'Token signature does not verify',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_TOKEN_EXPIRED: {
    status: 401,
    reason: 'authn.token_expired',
    title: 'Token has expired',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_TOKEN_NOT_YET_VALID: {
    status: 401,
    reason: 'authn.token_not_yet_valid',
    title: 'Token is not valid yet',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_LIFETIME_TOO_LONG: {
    status: 401,
    reason: 'authn.lifetime_too_long',
    title: 'Token lifetime exceeds the allowed maximum',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_AUDIENCE_MISMATCH: {
    status: 401,
    reason: 'authn.audience_mismatch',
    title: 'Token audience does not include this backend',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_CLAIM_INVALID: {
    status: 401,
    reason: 'authn.claim_invalid',
    title: 'A required delegation claim is missing or malformed',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_AUTHN_KEYS_UNAVAILABLE: {
    status: 503,
    reason: 'authn.keys_unavailable',
    title: 'Issuer keys are unavailable and no last-good key set is cached',
  },
  // Checked on every request after authentication, cached token or not (gateway/revocation/).
  MANDATE_AUTHN_TOKEN_REVOKED: {
    status: 401,
    reason: 'authn.token_revoked',
    title: 'Token has been revoked',
    wwwAuthenticate: 'invalid_token',
  },

  // 2. Resolve.
  MANDATE_ROUTE_NOT_FOUND: { status: 404, reason: 'resolve.route_not_found', title: 'No route for this path' },
  MANDATE_METHOD_NOT_ALLOWED: {
    status: 405,
    reason: 'resolve.method_not_allowed',
    title: 'Route exists but not for this method',
  },
  MANDATE_UPGRADE_NOT_ALLOWED: {
    status: 403,
    reason: 'resolve.upgrade_not_allowed',
    title: 'This route does not accept WebSocket upgrades',
  },

  // 2b. Request attributes a route exposes to policy (routes.yaml `query`, `body`).
  MANDATE_QUERY_PARAM_REPEATED: {
    status: 400,
    reason: 'attributes.query_param_repeated',
    title: 'A query parameter the policy reads appears more than once',
  },
  MANDATE_QUERY_PARAM_MALFORMED: {
    status: 400,
    reason: 'attributes.query_param_malformed',
    title: 'A query parameter the policy reads does not decode to UTF-8 text',
  },
  MANDATE_BODY_TOO_LARGE: {
    status: 413,
    reason: 'attributes.body_too_large',
    title: 'Request body exceeds the bound this route reads',
  },
  MANDATE_BODY_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    reason: 'attributes.body_unsupported_media_type',
    title: 'This route reads a JSON body (application/json, no Content-Encoding)',
  },
  MANDATE_BODY_INVALID_JSON: {
    status: 400,
    reason: 'attributes.body_invalid_json',
    title: 'Request body is not one JSON object in UTF-8',
  },
  MANDATE_BODY_DUPLICATE_KEY: {
    status: 400,
    reason: 'attributes.body_duplicate_key',
    title: 'Request body names a JSON member twice in one object',
  },
  MANDATE_BODY_NUMBER_IMPRECISE: {
    status: 400,
    reason: 'attributes.body_number_imprecise',
    title: 'A number the policy reads cannot be represented exactly',
  },

  // 3. Authorize.
  MANDATE_AUTHZ_DENIED: { status: 403, reason: 'authz.denied', title: 'Denied by policy' },
  MANDATE_AUTHZ_POLICY_ERROR: {
    status: 500,
    reason: 'authz.policy_error',
    title: 'Policy evaluation failed; request denied',
  },

  // 5. Forward.
  MANDATE_UPSTREAM_UNREACHABLE: {
    status: 502,
    reason: 'forward.upstream_unreachable',
    title: 'Backend refused or dropped the connection',
  },
  MANDATE_UPSTREAM_TIMEOUT: { status: 504, reason: 'forward.upstream_timeout', title: 'Backend timed out' },
  MANDATE_CLIENT_ABORTED: { status: 499, reason: 'forward.client_aborted', title: 'Client closed the request' },

  // 6. Audit.
  MANDATE_AUDIT_UNAVAILABLE: {
    status: 503,
    reason: 'audit.unavailable',
    title: 'Audit store unavailable; nothing was forwarded',
  },

  // Admin API (gateway/admin/) and revocation (gateway/revocation/).
  MANDATE_ADMIN_DISABLED: {
    status: 404,
    reason: 'admin.disabled',
    title: 'The admin API is not enabled (no admin section in routes.yaml)',
  },
  MANDATE_ADMIN_UNAUTHENTICATED: {
    status: 401,
    reason: 'admin.unauthenticated',
    title: 'A valid admin API key is required',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_ADMIN_FORBIDDEN: {
    status: 403,
    reason: 'admin.forbidden',
    title: 'This admin API key lacks the role this endpoint requires',
    wwwAuthenticate: 'insufficient_scope',
  },
  MANDATE_REVOCATION_NOT_PERSISTED: {
    status: 503,
    reason: 'revocation.not_persisted',
    title: 'Revocation is in effect in this gateway process but could not be stored; retry',
  },
  MANDATE_REVOCATION_NOT_AUDITED: {
    status: 503,
    reason: 'revocation.not_audited',
    title: 'Revocation is stored and in effect but its audit event could not be written',
  },

  // Staged authorization: calls held for the user's approval (gateway/approvals/).
  MANDATE_APPROVAL_REQUIRED: {
    status: 403,
    reason: 'approval.required',
    title: "This call needs the user's approval; retry with X-Mandate-Approval once approved",
  },
  MANDATE_APPROVAL_PENDING: {
    status: 403,
    reason: 'approval.pending',
    title: 'The user has not decided on this approval yet',
  },
  MANDATE_APPROVAL_REJECTED: { status: 403, reason: 'approval.rejected', title: 'The user rejected this call' },
  MANDATE_APPROVAL_EXPIRED: { status: 403, reason: 'approval.expired', title: 'The approval has expired' },
  MANDATE_APPROVAL_USED: {
    status: 403,
    reason: 'approval.used',
    title: 'The approval has already been used; an approval allows one call',
  },
  MANDATE_APPROVAL_MISMATCH: {
    status: 403,
    reason: 'approval.mismatch',
    title: 'The approval is for another request (user, agent chain, action, resource, method, path or body)',
  },
  MANDATE_APPROVAL_NOT_FOUND: { status: 404, reason: 'approval.not_found', title: 'No such approval' },
  MANDATE_APPROVAL_UNAVAILABLE: {
    status: 403,
    reason: 'approval.unavailable',
    title: "This call needs a user's approval, which cannot be given here",
  },
  MANDATE_APPROVAL_BACKLOG: {
    status: 429,
    reason: 'approval.backlog',
    title: 'Too many calls already wait for this user’s approval; let her decide those first',
  },
  MANDATE_APPROVAL_ALREADY_DECIDED: {
    status: 409,
    reason: 'approval.already_decided',
    title: 'The approval has already been approved or rejected',
  },
  MANDATE_APPROVER_UNAUTHENTICATED: {
    status: 401,
    reason: 'approval.approver_unauthenticated',
    title: "The user's own identity provider token (or approval page session) is required",
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_APPROVER_IS_AGENT: {
    status: 403,
    reason: 'approval.approver_is_agent',
    title: 'A delegation token cannot approve: the user approves as herself',
    wwwAuthenticate: 'invalid_token',
  },
  MANDATE_APPROVAL_CSRF: {
    status: 403,
    reason: 'approval.csrf',
    title: 'The form did not come from the approval page',
  },

  // Behavioural limits and the kill switch (gateway/limits/).
  MANDATE_LIMIT_EXCEEDED: {
    status: 429,
    reason: 'limits.exceeded',
    title: 'A behavioural limit was reached; the task is suspended until its user or an admin resumes it',
  },
  // 403, not 429: waiting does not help, a person has to resume the task.
  MANDATE_TASK_SUSPENDED: {
    status: 403,
    reason: 'limits.task_suspended',
    title: 'The task is suspended; its user or an admin must resume it',
  },
  MANDATE_TASK_ENDED: {
    status: 403,
    reason: 'limits.task_ended',
    title: 'The task ended after going unused for limits.task_idle_days; start a new task',
  },
  MANDATE_TASK_FORBIDDEN: {
    status: 403,
    reason: 'tasks.forbidden',
    title: "Only an admin or the task's own user may suspend or resume it",
    wwwAuthenticate: 'insufficient_scope',
  },
  MANDATE_TASK_STATE_NOT_PERSISTED: {
    status: 503,
    reason: 'tasks.not_persisted',
    title: 'The task state changed in this gateway process but could not be stored; retry',
  },
  MANDATE_STATE_UNAVAILABLE: {
    status: 503,
    reason: 'state.unavailable',
    title: "The gateway's state database cannot answer right now; nothing was forwarded",
  },
  MANDATE_LIMITS_UNAVAILABLE: {
    status: 503,
    reason: 'limits.unavailable',
    title: 'The call could not be counted durably against its limits',
  },

  MANDATE_INTERNAL: { status: 500, reason: 'gateway.internal', title: 'Internal gateway error' },
} as const satisfies Record<string, CatalogueEntry>;

export interface CatalogueEntry {
  readonly status: number;
  readonly reason: string;
  readonly title: string;
  /** The `WWW-Authenticate: Bearer` challenge's RFC 6750 §3.1 error code, or `none` for a challenge without one. */
  readonly wwwAuthenticate?: 'none' | 'invalid_request' | 'invalid_token' | 'insufficient_scope';
}

export type ErrorCode = keyof typeof catalogue;

/**
 * A refusal with a catalogue code. `detail` is safe to show the caller (never token contents,
 * secrets or internals); `policyReasons` carries reasons returned by Rego, which the agent can act on.
 */
export class MandateError extends Error {
  readonly code: ErrorCode;
  readonly detail: string | undefined;
  readonly policyReasons: readonly string[];
  /** For MANDATE_METHOD_NOT_ALLOWED: the methods the path does accept (sent as `Allow`). */
  readonly allow: readonly string[] | undefined;
  /** RFC 9457 §3.2 extension members added to the problem (e.g. the approval id and where to approve). */
  readonly extensions: Readonly<Record<string, string>> | undefined;
  /** For MANDATE_LIMIT_EXCEEDED on a per-window limit: seconds until the window ends (sent as `Retry-After`). */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    code: ErrorCode,
    detail?: string,
    options?: {
      cause?: unknown;
      policyReasons?: readonly string[];
      allow?: readonly string[];
      extensions?: Readonly<Record<string, string>>;
      retryAfterSeconds?: number;
    },
  ) {
    super(detail ? `${code}: ${detail}` : code, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MandateError';
    this.code = code;
    this.detail = detail;
    this.policyReasons = options?.policyReasons ?? [];
    this.allow = options?.allow;
    this.extensions = options?.extensions;
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  get entry(): CatalogueEntry {
    return catalogue[this.code];
  }
}
