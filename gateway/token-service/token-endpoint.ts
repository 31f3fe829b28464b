import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { catalogue } from '../errors.ts';
import type { Gateway } from '../gateway.ts';
import type { Actor } from '../pipeline/1-authenticate/principal.ts';
import { log } from '../telemetry/log.ts';
import { newTraceId } from '../telemetry/trace-context.ts';
import { verifyActor } from './actor-token.ts';
import { authenticateClient } from './client-auth.ts';
import { decideExchange } from './decide.ts';
import { buildExchangeInput, type GrantKind } from './exchange-input.ts';
import { readTokenForm } from './form.ts';
import { issueToken } from './issue-token.ts';
import { asOAuthError, OAuthError } from './oauth-error.ts';
import { requestedRights } from './requested-rights.ts';
import { type Subject, verifySubject } from './subject-token.ts';
import { resolveTarget } from './target.ts';
import { type ExchangeFacts, emptyFacts, tokenEvent } from './token-event.ts';
import type { TokenService } from './token-service.ts';
import { GRANT_TYPE, TOKEN_TYPE } from './token-types.ts';

/** Longest `intent` accepted, as the proxy accepts it (code points). */
const MAX_INTENT_CHARS = 2000;
/** The audit reason of a refusal the audit store itself could not take (so it is not audited). */
const AUDIT_UNAVAILABLE = catalogue.MANDATE_AUDIT_UNAVAILABLE.reason;
const TXN = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * `POST /oauth2/token` — RFC 8693 token exchange, and `client_credentials` for background agents.
 * Exactly one audit event per request, `token_issued` or `token_refused`; a token is sent only after
 * its event is committed (an unwritable audit store refuses with 503 `temporarily_unavailable`).
 */
export async function tokenEndpoint(gw: Gateway, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ts = gw.tokenService;
  if (!ts) {
    res.writeHead(404, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ error: 'not_found' }));
    return;
  }
  const facts = emptyFacts(newTraceId(gw.now()), gw.now());
  // As on the proxy path: the id an agent reports is the one on the audit event.
  res.setHeader('x-mandate-correlation-id', facts.correlationId);
  try {
    const issued = await exchange(gw, ts, req, facts);
    try {
      await gw.audit.append(
        tokenEvent(facts, gw.now(), {
          kind: 'token_issued',
          jti: issued.jti,
          tokenHash: createHash('sha256').update(issued.token).digest('hex'),
          scopes: issued.scopes,
          details: issued.details,
          expiresAt: issued.expiresAt,
        }),
      );
    } catch (cause) {
      throw new OAuthError('temporarily_unavailable', AUDIT_UNAVAILABLE, { cause });
    }
    // RFC 8693 §2.2.1; `scope` always present, so a narrowed grant is never missed.
    send(res, 200, {
      access_token: issued.token,
      issued_token_type: TOKEN_TYPE.accessToken,
      token_type: 'Bearer',
      expires_in: issued.expiresAt - Math.floor(gw.now() / 1000),
      scope: issued.scopes.join(' '),
      ...(issued.details.length > 0 ? { authorization_details: issued.details } : {}),
    });
  } catch (e) {
    const error = asOAuthError(e);
    // A failure, not a refusal: a bug, or a store that cannot answer. The operator needs the cause.
    if (error.reason === 'internal' || error.error === 'temporarily_unavailable')
      log.error(
        { err: error.cause, reason: error.reason, correlationId: facts.correlationId },
        'token exchange failed',
      );
    facts.policyReasons = error.policyReasons;
    let answer = error;
    // A refusal is audited, unless the audit store is what failed.
    if (error.reason !== AUDIT_UNAVAILABLE) {
      try {
        await gw.audit.append(
          tokenEvent(facts, gw.now(), {
            kind: 'token_refused',
            error: error.error,
            reason: error.reason,
            status: error.status,
          }),
        );
      } catch (cause) {
        answer = new OAuthError('temporarily_unavailable', AUDIT_UNAVAILABLE, { cause });
      }
    }
    const headers: Record<string, string> =
      answer.error === 'invalid_client' ? { 'www-authenticate': 'Bearer realm="mandate"' } : {};
    // An oversized form is still arriving, read and dropped (readBoundedBody): closing, rather than
    // reading what is left to reuse the connection, bounds the work, as sendProblem does for a 413.
    if (error.reason === 'request.too_large') headers.connection = 'close';
    send(res, answer.status, { error: answer.error, error_description: answer.description }, headers);
  }
}

interface Issued {
  token: string;
  jti: string;
  scopes: readonly string[];
  details: readonly unknown[];
  expiresAt: number;
}

/** The order of the checks; each step throws its OAuthError. */
async function exchange(gw: Gateway, ts: TokenService, req: IncomingMessage, facts: ExchangeFacts): Promise<Issued> {
  const nowMs = gw.now();
  const nowSeconds = Math.floor(nowMs / 1000);
  const skew = gw.config.gateway.tokens.clock_skew_seconds;
  const { single: form, audience, resource } = await readTokenForm(req);
  facts.grantType = form.get('grant_type') ?? null;

  // 1. Who is asking (GW-TX-1): before any token is looked at, so an anonymous caller learns nothing.
  const client = await authenticateClient(req, form, {
    agents: ts.agents,
    audiences: ts.audiences,
    clockSkewSeconds: skew,
    nowMs,
    seenAssertions: ts.seenAssertions,
  });
  facts.chain = [{ sub: client.config.id, iss: ts.config.issuer }];

  // 2. On whose behalf: a user's token, an earlier delegation, or nobody (background agent).
  let subject: Subject | null;
  let actorExp = Number.POSITIVE_INFINITY;
  if (facts.grantType === GRANT_TYPE.tokenExchange) {
    actorExp = await verifyActor(form.get('actor_token'), form.get('actor_token_type'), client, {
      audiences: ts.audiences,
      clockSkewSeconds: skew,
      nowMs,
    });
    facts.subjectTokenType = form.get('subject_token_type') ?? null;
    const subjectToken = form.get('subject_token');
    if (subjectToken === undefined) throw new OAuthError('invalid_request', 'subject_token.missing');
    subject = await verifySubject(subjectToken, form.get('subject_token_type'), {
      identityProviders: ts.identityProviders,
      ownVerifier: ts.ownVerifier,
      ownIssuer: ts.config.issuer,
      clockSkewSeconds: skew,
      nowMs,
    });
  } else if (facts.grantType === GRANT_TYPE.clientCredentials) {
    if (form.has('subject_token') || form.has('actor_token'))
      throw new OAuthError('invalid_request', 'request.tokens_with_client_credentials');
    subject = null;
  } else {
    throw new OAuthError(facts.grantType === null ? 'invalid_request' : 'unsupported_grant_type', 'request.grant_type');
  }
  if (!form.has('actor_token') && form.has('actor_token_type'))
    throw new OAuthError('invalid_request', 'actor_token.type_without_token');
  recordSubject(facts, subject);

  // 3. The chain: a delegation presented by its own current actor is a renewal (same chain);
  //    by another agent, a re-delegation nested beneath it (GW-TX-6), never deeper than the maximum.
  const me: Actor = { sub: client.config.id, iss: ts.config.issuer };
  const prior = subject?.kind === 'delegation' ? subject.principal : undefined;
  const grant: GrantKind =
    subject === null
      ? 'background'
      : !prior
        ? 'delegation'
        : prior.agent.sub === me.sub && prior.agent.iss === me.iss
          ? 'renewal'
          : 're_delegation';
  facts.grant = grant;
  const chain = grant === 'renewal' ? prior!.chain : [me, ...(prior?.chain ?? [])];
  facts.chain = chain;
  if (chain.length > ts.config.max_chain_depth) throw new OAuthError('invalid_request', 'delegation.chain_too_deep');

  // 4. The task: a delegation keeps its txn and intent; a new one may name them.
  const task = taskOf(form, subject, nowSeconds, ts.config.max_task_lifetime_seconds);
  facts.txn = task.txn;
  facts.intent = task.intent ?? null;

  // 5. Nothing revoked (gateway/revocation/): the user's token (sign-out), or any link of a delegation's
  //    chain, its task or its jti — so a revoked task is neither renewed nor re-delegated.
  if (subject !== null && gw.revocations.isRevoked(revocationSubject(subject, task.txn))) {
    throw new OAuthError('invalid_request', 'subject_token.revoked');
  }
  // 5b. Nor suspended (gateway/limits/): a suspended task gets no new token — renewal, re-delegation or
  //     a fresh one naming its txn — until its user or an admin resumes it.
  if (gw.limits.suspensions.isSuspended(task.txn)) throw new OAuthError('invalid_request', 'task.suspended');
  // 5c. And the task is this user's: a txn is claimed by the first user it is issued for, so no one
  //     else's agent can spend its budget, get it suspended, or become the one who may resume it.
  const taskUser =
    subject === null ? null : subject.kind === 'user' ? subject.user : prior!.noUser ? null : prior!.user;
  //     A task that ended unused (limits.task_idle_days) is not started again.
  const claim = gw.limits.claimTask(task.txn, taskUser, client.config.id, nowMs);
  if (claim === 'other_user') throw new OAuthError('invalid_request', 'txn.other_users_task');
  if (claim === 'ended') throw new OAuthError('invalid_request', 'task.ended');

  // 6. Target, then the decision: requested ∩ what the subject may pass on ∩ the agent's ceiling.
  const backend = resolveTarget(gw.config.backends, audience, resource, subject);
  facts.backend = backend.name;
  const requested = requestedRights(form, subject);
  facts.requestedScopes = requested.scopes;
  facts.requestedDetails = requested.details;
  const currentActor = prior ? ts.agents.get(prior.agent.sub) : undefined;
  const granted = decideExchange(
    gw.policy,
    buildExchangeInput({
      grant,
      subject,
      agent: client.config,
      ownIssuer: ts.config.issuer,
      currentActorDelegateTo: currentActor?.config.ceiling.delegate_to ?? [],
      backend: { name: backend.name, audience: backend.audience },
      requestedScopes: requested.scopes,
      requestedDetails: requested.details,
      nowMs,
    }),
    facts,
  );

  // 7. Lifetime (GW-TX-7): the configured cap, the actor token's exp, the user token's exp, and the
  //    task's maximum. A delegation presented again is bounded by its task, not its own exp: that is
  //    what renewal is for.
  const expiresAt = Math.min(
    nowSeconds + ts.config.token_lifetime_seconds,
    actorExp,
    subject?.kind === 'user' ? subject.expiresAt : Number.POSITIVE_INFINITY,
    task.startedAt + ts.config.max_task_lifetime_seconds,
  );
  if (expiresAt <= nowSeconds) throw new OAuthError('invalid_request', 'task.lifetime_exceeded');
  const userClaims = subject?.kind === 'user' ? subject.attributes : (prior?.attributes ?? {});
  const { token, jti } = await issueToken(ts.keys, {
    issuer: ts.config.issuer,
    subject: subject === null ? client.config.id : subject.kind === 'user' ? subject.user : prior!.user,
    noUser: subject === null || prior?.noUser === true,
    chain,
    audience: backend.audience,
    scopes: granted.scopes,
    authorizationDetails: granted.details,
    txn: task.txn,
    intent: task.intent,
    clientId: client.config.id,
    userClaims,
    issuedAt: nowSeconds,
    expiresAt,
    taskStartedAt: task.startedAt,
  });
  return { token, jti, scopes: granted.scopes, details: granted.details, expiresAt };
}

function revocationSubject(subject: Subject, txn: string) {
  if (subject.kind === 'user') {
    return { jti: subject.jti ?? '', user: subject.user, agents: [], txn, issuedAtSeconds: subject.issuedAt };
  }
  const p = subject.principal;
  const agents = p.chain.map((a) => a.sub);
  return { jti: p.jti, user: p.noUser ? null : p.user, agents, txn: p.txn ?? null, issuedAtSeconds: p.issuedAt };
}

function recordSubject(facts: ExchangeFacts, subject: Subject | null): void {
  if (subject?.kind === 'user') {
    facts.user = subject.user;
    facts.subjectIssuer = subject.issuer;
    facts.subjectJti = subject.jti;
  } else if (subject?.kind === 'delegation') {
    facts.user = subject.principal.noUser ? null : subject.principal.user;
    facts.subjectIssuer = subject.principal.issuer;
    facts.subjectJti = subject.principal.jti;
  }
}

/**
 * txn, intent and the task's start. A delegation presented again carries all three forward: a
 * request naming another txn or intent is refused (a renewal never changes the task).
 */
function taskOf(
  form: ReadonlyMap<string, string>,
  subject: Subject | null,
  nowSeconds: number,
  maxTaskSeconds: number,
): { txn: string; intent: string | undefined; startedAt: number } {
  const txn = form.get('txn');
  const intent = form.get('intent');
  if (txn !== undefined && !TXN.test(txn)) throw new OAuthError('invalid_request', 'request.txn_malformed');
  if (intent !== undefined && [...intent].length > MAX_INTENT_CHARS)
    throw new OAuthError('invalid_request', 'request.intent_too_long');
  if (subject?.kind !== 'delegation') {
    return { txn: txn ?? `txn-${newTraceId(nowSeconds * 1000)}`, intent, startedAt: nowSeconds };
  }
  const prior = subject.principal;
  if (prior.txn === undefined) throw new OAuthError('invalid_request', 'subject_token.txn_missing');
  if (txn !== undefined && txn !== prior.txn) throw new OAuthError('invalid_request', 'task.txn_changed');
  if (intent !== undefined && intent !== prior.intent) throw new OAuthError('invalid_request', 'task.intent_changed');
  const startedAt = subject.taskStartedAt;
  if (nowSeconds >= startedAt + maxTaskSeconds) throw new OAuthError('invalid_request', 'task.lifetime_exceeded');
  return { txn: prior.txn, intent: prior.intent, startedAt };
}

function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    // RFC 6749 §5.1 / GW-TX-9: tokens and refusals are never cached.
    'cache-control': 'no-store',
    pragma: 'no-cache',
    ...headers,
  });
  res.end(text);
}
