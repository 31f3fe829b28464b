/**
 * Read-only views over `events` and `recent_events` (recent-events.ts) with readable columns, for
 * auditors working with `sqlite3` directly and for the named questions of `mandate audit query` (questions.ts) — one definition for both.
 *
 * Views hold no data, so they are outside the hash chain: dropping or editing one changes no event,
 * and `verify` never reads them. They are dropped and recreated on every open (in one transaction),
 * so a database written by an older release gets the current definitions.
 *
 * Every view keeps `seq` (the chain position; order by it) and the base columns it filters on under
 * their own names, so SQLite pushes a WHERE on them down into the view and uses the indexes.
 */

/** The readable one-line summary of an event, shared by `task_timeline` and the auditor page. */
const step = `CASE kind
    WHEN 'token_issued' THEN 'token issued to ' || coalesce(agent, '?')
    WHEN 'token_refused' THEN 'token refused' || coalesce(': ' || reason, '')
    WHEN 'decision' THEN 'allowed ' || coalesce(action, method || ' ' || path)
    WHEN 'outcome' THEN 'backend answered ' || coalesce(status, '-') || coalesce(' (' || reason || ')', '')
    WHEN 'denial' THEN 'refused ' || coalesce(action, method || ' ' || path) || coalesce(': ' || reason, '')
    WHEN 'error' THEN 'failed ' || coalesce(action, method || ' ' || path) || coalesce(': ' || reason, '')
    WHEN 'revocation' THEN 'revocation'
    WHEN 'approval_requested' THEN 'held for approval: ' || coalesce(action, json_extract(detail, '$.request'))
    WHEN 'approval_granted' THEN 'approved by ' || coalesce(json_extract(detail, '$.decided_by'), '?')
    WHEN 'approval_rejected' THEN 'rejected by ' || coalesce(json_extract(detail, '$.decided_by'), '?')
    WHEN 'approval_used' THEN 'approved call sent: ' || coalesce(action, json_extract(detail, '$.request'))
    WHEN 'task_suspended' THEN 'task suspended' || coalesce(': ' || json_extract(detail, '$.reason'), '')
    WHEN 'task_resumed' THEN 'task resumed by ' || coalesce(json_extract(detail, '$.by'), '?')
    WHEN 'task_ended' THEN 'task ended, unused for ' || json_extract(detail, '$.idle_days') || ' days'
    ELSE kind
  END`;

/** `type:id`, or the id alone when the route names no type. */
const resource = (t: string) =>
  `CASE WHEN ${t}resource_id IS NULL THEN NULL ELSE coalesce(${t}resource_type || ':', '') || ${t}resource_id END`;

/**
 * SQL condition: row `outcome` is an outcome of the call whose decision is `decision` — after it, with
 * the same correlation id, method and path (an agent may continue one trace over several calls); the
 * first such row is the call's outcome. The one definition of the pairing, for the `calls` view and for
 * calls whose outcome landed in a later segment (read-segments.ts).
 */
export const outcomeOf = (outcome: string, decision: string): string =>
  `${outcome}.kind = 'outcome' AND ${outcome}.correlation_id = ${decision}.correlation_id AND ${outcome}.seq > ${decision}.seq AND ${outcome}.method = ${decision}.method AND ${outcome}.path = ${decision}.path`;

/**
 * The calls view's columns, in order: a call's own from its decision (or refusal) event `d`, the rest
 * from `outcome(column)`.
 */
const callSelect = (d: string, outcome: (column: string) => string) =>
  `SELECT ${d}seq, ${d}time, ${outcome('time')} AS finished, ${d}correlation_id, ${d}user, ${d}agent,
  ${d}actor_chain, ${d}txn, ${d}intent, ${d}action, ${d}resource_type, ${d}resource_id, ${resource(d)} AS resource,
  ${d}method, ${d}path, ${d}backend, ${d}decision, ${outcome('status')} AS status, ${outcome('reason')} AS reason,
  ${d}policy_reasons, ${d}policy_revision, ${d}credential, ${outcome('duration_ms')} AS duration_ms,
  ${outcome('bytes_in')} AS bytes_in, ${outcome('bytes_out')} AS bytes_out, ${outcome('seq')} AS outcome_seq`;

/** The outcome `o` found in `events`, else `r` found in `recent_events`. */
const eitherOutcome = (column: string) => `CASE WHEN o.seq IS NULL THEN r.${column} ELSE o.${column} END`;

export const viewsSql = `
-- A savepoint, not BEGIN: it also nests inside a caller's transaction.
SAVEPOINT audit_views;

-- all_events: every event, those already indexed (events) and the newest (recent_events, moved into
-- events within a fraction of a second: recent-events.ts).
DROP VIEW IF EXISTS all_events;
CREATE VIEW all_events AS
SELECT * FROM events
UNION ALL
SELECT * FROM recent_events;

-- calls: one row per proxy call. An allowed call is its decision event joined with its outcome event
-- (the first outcome after it with the same correlation id, method and path: an agent may continue one
-- trace over several calls); outcome_seq is null when no outcome was written (gateway crash). A refused
-- call is its single denial or error event. Written table by table rather than over all_events, whose
-- joins SQLite would materialise: a decision in events finds its outcome in events through the
-- correlation-id index, or else (the newest calls) in recent_events; one in recent_events, there.
DROP VIEW IF EXISTS calls;
CREATE VIEW calls AS
${callSelect('d.', eitherOutcome)}
FROM events AS d
LEFT JOIN events AS o ON o.seq = (SELECT min(x.seq) FROM events AS x WHERE ${outcomeOf('x', 'd')})
LEFT JOIN recent_events AS r ON r.seq = CASE WHEN o.seq IS NULL
  THEN (SELECT min(x.seq) FROM recent_events AS x WHERE ${outcomeOf('x', 'd')}) END
WHERE d.kind = 'decision'
UNION ALL
${callSelect('d.', (column) => `o.${column}`)}
FROM recent_events AS d
LEFT JOIN recent_events AS o ON o.seq = (SELECT min(x.seq) FROM recent_events AS x WHERE ${outcomeOf('x', 'd')})
WHERE d.kind = 'decision'
UNION ALL
${callSelect('', (column) => (column === 'seq' ? 'NULL' : column))}
FROM events
WHERE kind IN ('denial', 'error')
UNION ALL
${callSelect('', (column) => (column === 'seq' ? 'NULL' : column))}
FROM recent_events
WHERE kind IN ('denial', 'error');

-- refusals: every refused or failed request, proxy or token service, with why.
DROP VIEW IF EXISTS refusals;
CREATE VIEW refusals AS
SELECT seq, time, kind, correlation_id, user, agent, txn, intent, action, resource_type, resource_id,
  ${resource('')} AS resource, method, path, status, reason, policy_reasons, policy_revision, detail
FROM all_events
WHERE kind IN ('denial', 'error', 'token_refused');

-- token_events: tokens Mandate issued or refused (detail: requested vs granted scope and details).
DROP VIEW IF EXISTS token_events;
CREATE VIEW token_events AS
SELECT seq, time, kind, correlation_id, user, agent, actor_chain, txn, jti, intent, authorization_details,
  status, reason, detail
FROM all_events
WHERE kind IN ('token_issued', 'token_refused');

-- task_timeline: every event of a task (txn) with a one-line summary; ORDER BY seq for the story.
DROP VIEW IF EXISTS task_timeline;
CREATE VIEW task_timeline AS
SELECT txn, seq, time, kind, ${step} AS step, user, agent, action, resource_type, resource_id,
  ${resource('')} AS resource, decision, status, reason, intent, correlation_id
FROM all_events
WHERE txn IS NOT NULL;

RELEASE audit_views;
`;
