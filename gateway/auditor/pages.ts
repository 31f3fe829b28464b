import { basename } from 'node:path';
import type { AuditRow } from '../pipeline/6-audit/row.ts';
import type { Segment } from '../pipeline/6-audit/segments.ts';
import type { Html } from './html.ts';
import { html } from './html.ts';
import type { VerifyStatus } from './verify-status.ts';

export const BASE = '/_mandate/audit/';

/** The search form's fields: query parameter → label. */
export const searchFields = {
  user: 'User',
  agent: 'Agent',
  action: 'Action',
  resource: 'Resource (type:id)',
  txn: 'Task (txn)',
  since: 'Since (ISO, UTC)',
  until: 'Until (ISO, UTC)',
} as const;

export type SearchParams = Partial<Record<keyof typeof searchFields, string>>;

/** A row of the `task_timeline` view. */
export interface TimelineRow {
  readonly seq: number;
  readonly time: string;
  readonly kind: string;
  readonly step: string;
  readonly user: string | null;
  readonly agent: string | null;
  readonly resource: string | null;
  readonly decision: string | null;
  readonly status: number | null;
  readonly reason: string | null;
  readonly intent: string | null;
  readonly correlation_id: string;
}

function page(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title} · Mandate audit</title>
<link rel="stylesheet" href="${BASE}style.css"></head>
<body>
<nav><a href="${BASE}">Search</a> · <a href="${BASE}verify">Verify</a></nav>
<h1>${title}</h1>
${body}
</body>
</html>
`;
}

const taskLink = (txn: string | null) =>
  txn === null ? null : html`<a href="${BASE}task?txn=${encodeURIComponent(txn)}">${txn}</a>`;
const resourceOf = (r: AuditRow) =>
  r.resource_id === null ? null : [r.resource_type, r.resource_id].filter(Boolean).join(':');

/** The search form, filled with what was asked, and the matching events (most recent last). */
export function searchPage(params: SearchParams, rows: readonly AuditRow[] | undefined, limit: number): Html {
  const inputs = Object.entries(searchFields).map(
    ([name, label]) =>
      html`<label>${label} <input name="${name}" value="${params[name as keyof SearchParams] ?? ''}"></label> `,
  );
  const results =
    rows === undefined
      ? html`<p>Fill in at least one field.</p>`
      : html`<p class="count">${rows.length} events${rows.length === limit ? ` (the ${limit} most recent)` : ''}</p>
<table id="events">
<thead><tr><th>seq</th><th>time</th><th>kind</th><th>user</th><th>agent</th><th>action</th><th>resource</th><th>decision</th><th>status</th><th>reason</th><th>task</th><th>intent</th></tr></thead>
<tbody>${rows.map(
          (r) =>
            html`<tr><td>${r.seq}</td><td>${r.time}</td><td>${r.kind}</td><td>${r.user}</td><td>${r.agent}</td><td>${r.action}</td><td>${resourceOf(r)}</td><td>${r.decision}</td><td>${r.status}</td><td>${r.reason}</td><td>${taskLink(r.txn)}</td><td class="intent">${r.intent}</td></tr>
`,
        )}</tbody>
</table>`;
  return page(
    'Search',
    html`<form method="get" action="${BASE}">${inputs}<button type="submit">Search</button></form>${results}`,
  );
}

/** One task's events in chain order, each with its one-line summary. */
export function taskPage(txn: string, rows: readonly TimelineRow[]): Html {
  const intents = [...new Set(rows.map((r) => r.intent).filter((i) => i !== null))];
  return page(
    'Task timeline',
    html`<p>Task <code id="txn">${txn}</code>: ${rows.length} events.</p>
${intents.map((i) => html`<p>Intent: <q class="intent">${i}</q></p>`)}
<table id="timeline">
<thead><tr><th>seq</th><th>time</th><th>step</th><th>user</th><th>agent</th><th>resource</th><th>decision</th><th>status</th><th>reason</th><th>correlation id</th></tr></thead>
<tbody>${rows.map(
      (r) =>
        html`<tr class="${r.kind}"><td>${r.seq}</td><td>${r.time}</td><td>${r.step}</td><td>${r.user}</td><td>${r.agent}</td><td>${r.resource}</td><td>${r.decision}</td><td>${r.status}</td><td>${r.reason}</td><td><code>${r.correlation_id}</code></td></tr>
`,
    )}</tbody>
</table>`,
  );
}

/**
 * The outcome of `mandate audit verify` on the gateway's audit database, and the files of the trail
 * (sealed segments, then the active database) that searches and timelines read.
 */
export function verifyPage(status: VerifyStatus, segments: readonly Segment[]): Html {
  const { verdict } = status;
  return page(
    'Verification',
    html`<p id="verify-status" class="${verdict.status}">${verdict.status === 'intact' ? 'Intact' : `Not intact: ${verdict.status}`}</p>
<dl>
<dt>Events verified</dt><dd id="verified-events">${verdict.events}</dd>
<dt>Checkpoints checked</dt><dd>${verdict.checkpoints}</dd>
${verdict.firstBadSeq === undefined ? null : html`<dt>First bad seq</dt><dd id="first-bad-seq">${verdict.firstBadSeq}</dd>`}
${verdict.problem === undefined ? null : html`<dt>Problem</dt><dd>${verdict.problem}</dd>`}
<dt>Checked at</dt><dd>${status.checkedAt.toISOString()}</dd>
${verdict.retained === undefined ? null : html`<dt>Removed by retention</dt><dd id="retained">seqs 1–${verdict.retained.lastSeq} (recorded at seq ${verdict.retained.recordedAt})</dd>`}
</dl>
${verdict.warnings.length === 0 ? null : html`<ul class="warnings">${verdict.warnings.map((w) => html`<li>${w}</li>`)}</ul>`}
<p>Reload to verify again.</p>
<h2>Files</h2>
<table id="segments">
<thead><tr><th>file</th><th>seqs</th></tr></thead>
<tbody>${segments.map(
      (g) => html`<tr><td>${basename(g.file)}</td><td>${g.firstSeq}–${g.lastSeq}</td></tr>
`,
    )}<tr><td>active database</td><td>from ${(segments.at(-1)?.lastSeq ?? 0) + 1}</td></tr></tbody>
</table>`,
  );
}

export const stylesheet = `body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
form label { display: inline-block; margin: 0 1em 0.5em 0; }
.intact { color: #176317; font-weight: bold; }
.broken, .bad_checkpoint, .truncated, .diverged { color: #a11; font-weight: bold; }
.denial, .error, .token_refused { background: #fff3f3; }
`;
