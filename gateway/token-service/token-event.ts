import type { Actor } from '../pipeline/1-authenticate/principal.ts';
import type { AuditEvent } from '../pipeline/6-audit/event.ts';

/** What the endpoint learned about one exchange, for its audit event. */
export interface ExchangeFacts {
  correlationId: string;
  startedMs: number;
  grantType: string | null;
  grant: string | null;
  subjectTokenType: string | null;
  subjectIssuer: string | null;
  subjectJti: string | null;
  /** The user, or null when none is involved (background agent) or none was verified. */
  user: string | null;
  chain: readonly Actor[] | null;
  backend: string | null;
  txn: string | null;
  intent: string | null;
  requestedScopes: readonly string[] | null;
  requestedDetails: readonly unknown[] | null;
  policyRevision: string | null;
  policyReasons: readonly string[];
}

export function emptyFacts(correlationId: string, startedMs: number): ExchangeFacts {
  return {
    correlationId,
    startedMs,
    grantType: null,
    grant: null,
    subjectTokenType: null,
    subjectIssuer: null,
    subjectJti: null,
    user: null,
    chain: null,
    backend: null,
    txn: null,
    intent: null,
    requestedScopes: null,
    requestedDetails: null,
    policyRevision: null,
    policyReasons: [],
  };
}

/**
 * The `token_issued` / `token_refused` event: the same hash chain as proxy calls. `user` is null
 * when no natural person is involved (the agent is in `agent`). `detail` holds requested vs granted
 * scope and authorization_details, grant and token types, the reason — never a token.
 */
export function tokenEvent(
  facts: ExchangeFacts,
  nowMs: number,
  outcome:
    | {
        kind: 'token_issued';
        jti: string;
        tokenHash: string;
        scopes: readonly string[];
        details: readonly unknown[];
        expiresAt: number;
      }
    | { kind: 'token_refused'; error: string; reason: string; status: number },
): AuditEvent {
  const issued = outcome.kind === 'token_issued' ? outcome : undefined;
  const refused = outcome.kind === 'token_refused' ? outcome : undefined;
  return {
    kind: outcome.kind,
    time: new Date(nowMs).toISOString(),
    correlationId: facts.correlationId,
    user: facts.user,
    agent: facts.chain?.[0]?.sub ?? null,
    actorChain: facts.chain,
    jti: issued?.jti ?? null,
    tokenHash: issued?.tokenHash ?? null,
    txn: facts.txn,
    authorizationDetails: issued ? issued.details : facts.requestedDetails,
    intent: facts.intent,
    action: null,
    resourceType: null,
    resourceId: null,
    method: 'POST',
    path: '/oauth2/token',
    backend: facts.backend,
    decision: issued ? 'allow' : 'deny',
    reason: refused?.reason ?? null,
    policyReasons: facts.policyReasons,
    policyRevision: facts.policyRevision,
    credential: null,
    status: issued ? 200 : refused!.status,
    durationMs: Math.round(nowMs - facts.startedMs),
    bytesIn: null,
    bytesOut: null,
    detail: {
      grant_type: facts.grantType,
      grant: facts.grant,
      subject_token_type: facts.subjectTokenType,
      subject_issuer: facts.subjectIssuer,
      subject_jti: facts.subjectJti,
      requested_scope: facts.requestedScopes,
      requested_authorization_details: facts.requestedDetails,
      granted_scope: issued ? issued.scopes : null,
      granted_authorization_details: issued ? issued.details : null,
      expires_at: issued ? issued.expiresAt : null,
      error: refused?.error ?? null,
      reason: refused?.reason ?? null,
    },
  };
}
