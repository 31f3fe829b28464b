import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Approval } from '../../approvals/approval.ts';
import { approvalEvent } from '../../approvals/approval-event.ts';
import { APPROVALS_PATH, type Approvals } from '../../approvals/approvals.ts';
import { requestDigest } from '../../approvals/request-digest.ts';
import { MandateError } from '../../errors.ts';
import { log } from '../../telemetry/log.ts';
import type { Principal } from '../1-authenticate/principal.ts';
import type { RouteMatch } from '../2-resolve/route-match.ts';
import type { AuditSink } from '../audit-trail.ts';
import type { Decision } from './decision.ts';

/** The header an agent retries with: the approval id it was given. Never forwarded (upstream-headers.ts). */
export const APPROVAL_HEADER = 'x-mandate-approval';

/**
 * Whether an allowed call waits for its user. Precedence: the policy's explicit `approval_required`
 * (true or false) wins; without one, the route's tier decides (`approval` → yes). A denied call never
 * reaches here.
 */
export function needsApproval(decision: Decision, tier: RouteMatch['tier']): boolean {
  return decision.approvalRequired ?? tier === 'approval';
}

export interface GateInput {
  readonly principal: Principal;
  readonly match: RouteMatch;
  readonly method: string;
  readonly decision: Decision;
  /** The exact bytes that will be forwarded, for a route that buffers its body; else undefined. */
  readonly body: Buffer | undefined;
  readonly correlationId: string;
  readonly nowMs: number;
}

/**
 * Stage 3b. A call that needs approval and carries none is held: an approval request is stored and
 * audited, and the agent gets 403 MANDATE_APPROVAL_REQUIRED with its id and where the user approves.
 * A call carrying `X-Mandate-Approval` goes on only if that approval is this user's, for this agent
 * chain, action, resource and exact request, approved, unexpired and unused — and it is then taken
 * (one conditional UPDATE: of two racing retries exactly one wins). Returns the approval taken, or
 * undefined when none was needed. The caller audits its use just before the call's decision event,
 * or releases it if a later stage refuses the call: an approval is spent only by a forwarded call.
 */
export async function gateApproval(
  approvals: Approvals,
  audit: AuditSink,
  req: IncomingMessage,
  call: GateInput,
): Promise<TakenApproval | undefined> {
  if (!needsApproval(call.decision, call.match.tier)) return undefined;
  const { principal, match, nowMs } = call;
  // Fail closed: a call nobody can approve is refused, not forwarded.
  if (principal.noUser) {
    throw new MandateError('MANDATE_APPROVAL_UNAVAILABLE', 'the token has no user to approve this call');
  }
  if (approvals.identityProviders.size === 0) {
    throw new MandateError('MANDATE_APPROVAL_UNAVAILABLE', 'no identity provider is configured for users to approve');
  }
  // The approval covers a body only as the bytes read in 2b (a route with `body:`). A body the gateway
  // would stream unread (a GET with one, a route held by `approval_required` without `body:`) could be
  // anything on the retry: such a call cannot be approved, so it is refused rather than forwarded.
  if (call.body === undefined && announcesBody(req)) {
    throw new MandateError(
      'MANDATE_APPROVAL_UNAVAILABLE',
      'this route does not read its body, which an approval must cover',
    );
  }
  const target = match.path + match.query;
  const digest = requestDigest(call.method, target, call.body);
  const presented = presentedId(req);
  const origin = { correlationId: call.correlationId, method: call.method, path: match.path, nowMs };
  if (presented === undefined) {
    if (approvals.store.pendingCount(principal.user, nowMs) >= approvals.maxPendingPerUser) {
      throw new MandateError('MANDATE_APPROVAL_BACKLOG');
    }
    const approval: Approval = {
      id: `apr_${randomBytes(16).toString('base64url')}`,
      status: 'pending',
      user: principal.user,
      agentChain: principal.chain,
      action: match.action,
      resourceType: match.resource.type,
      resourceId: match.resource.id ?? null,
      method: call.method,
      target,
      body: call.body ?? null,
      digest,
      policyRevision: call.decision.policyRevision,
      txn: principal.txn ?? null,
      intent: principal.intent ?? null,
      createdAtMs: nowMs,
      expiresAtMs: nowMs + approvals.expiresSeconds * 1000,
      decidedAtMs: null,
      decidedBy: null,
      usedAtMs: null,
      correlationId: call.correlationId,
    };
    // Audited first: an approval the user could see must have its request in the chain.
    await audit.append(approvalEvent('approval_requested', approval, { ...origin, status: 403 }));
    approvals.store.insert(approval);
    const base = approvals.publicBase(req);
    throw new MandateError('MANDATE_APPROVAL_REQUIRED', `ask the user to approve, then retry with X-Mandate-Approval`, {
      extensions: {
        approval_id: approval.id,
        approval_url: `${base}${APPROVALS_PATH}/`,
        approval_api: `${base}${APPROVALS_PATH}/${approval.id}`,
        expires_at: new Date(approval.expiresAtMs).toISOString(),
      },
    });
  }
  const approval = approvals.store.get(presented);
  if (approval === undefined) throw new MandateError('MANDATE_APPROVAL_NOT_FOUND');
  // Binding first, so an agent learns nothing about an approval that is not for this very request.
  if (!boundTo(approval, principal, match, digest)) throw new MandateError('MANDATE_APPROVAL_MISMATCH');
  if (!approvals.store.use(approval.id, nowMs)) throw refusalFor(approvals.store.get(approval.id) ?? approval, nowMs);
  const used = { ...approval, usedAtMs: nowMs };
  return {
    approval: used,
    record: async (atMs) => {
      await audit.append(approvalEvent('approval_used', used, { ...origin, nowMs: atMs, status: null }));
    },
    release: () => release(approvals, used),
  };
}

/** An approval this call has taken (marked used in the state database), not yet known to be spent. */
export interface TakenApproval {
  readonly approval: Approval;
  /** Audits the use (`approval_used`): once nothing but the decision event stands between the call and its backend. */
  record(nowMs: number): Promise<void>;
  /**
   * Gives the approval back: a stage after 3b refused the call (a limit, inject, the audit store),
   * so nothing went upstream, and a retry — say, once the suspended task is resumed — may use it.
   */
  release(): void;
}

function release(approvals: Approvals, used: Approval): void {
  try {
    approvals.store.release(used.id, used.usedAtMs!);
  } catch (err) {
    // Fail closed: the approval stays used; the user approves the call again.
    log.error({ err, approvalId: used.id }, 'approval not released after a refused call; it stays used');
  }
}

/** Why an approval could not be used (it was not approved, unexpired and unused at the UPDATE). */
function refusalFor(approval: Approval, nowMs: number): MandateError {
  if (approval.status === 'rejected') return new MandateError('MANDATE_APPROVAL_REJECTED');
  if (approval.usedAtMs !== null) return new MandateError('MANDATE_APPROVAL_USED');
  if (approval.expiresAtMs <= nowMs) return new MandateError('MANDATE_APPROVAL_EXPIRED');
  return new MandateError('MANDATE_APPROVAL_PENDING');
}

function boundTo(approval: Approval, principal: Principal, match: RouteMatch, digest: string): boolean {
  const chain = (actors: readonly { sub: string; iss?: string | undefined }[]) =>
    JSON.stringify(actors.map((a) => [a.sub, a.iss ?? null]));
  return (
    approval.user === principal.user &&
    chain(approval.agentChain) === chain(principal.chain) &&
    // The task too: the user approved it reading that task's intent, not another's with the same call.
    approval.txn === (principal.txn ?? null) &&
    approval.action === match.action &&
    approval.resourceType === match.resource.type &&
    approval.resourceId === (match.resource.id ?? null) &&
    approval.digest === digest
  );
}

/** The one X-Mandate-Approval value; two are refused, never chosen between. */
function presentedId(req: IncomingMessage): string | undefined {
  let value: string | undefined;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== APPROVAL_HEADER) continue;
    if (value !== undefined) throw new MandateError('MANDATE_REQUEST_MALFORMED', 'more than one X-Mandate-Approval');
    value = (raw[i + 1] as string).trim();
  }
  return value;
}

/** Whether the request has a body (RFC 9112 §6.3: Transfer-Encoding, or a Content-Length above 0). */
function announcesBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) !== 0);
}
