import { type Html, html } from '../auditor/html.ts';
import type { Approval } from './approval.ts';
import { APPROVALS_PATH } from './approvals.ts';

const BASE = `${APPROVALS_PATH}/`;

/**
 * The approval page: the logged-in user's pending approvals, each with exactly what will happen if
 * she approves — action, resource, method and path, the body byte for byte, the agent chain, her
 * intent as the agent stated it, the expiry — and an Approve and a Reject form carrying the CSRF
 * token. Every value is agent-controlled text, escaped by `html`; the page runs no script.
 */
export function approvalsPage(user: string, approvals: readonly Approval[], csrf: string): Html {
  const items =
    approvals.length === 0
      ? html`<p id="none">Nothing is waiting for your approval.</p>`
      : approvals.map((a) => approvalItem(a, csrf));
  return page(
    'Approvals',
    html`<p>Signed in as <strong id="user">${user}</strong>.
<form class="inline" method="post" action="${BASE}logout"><input type="hidden" name="csrf" value="${csrf}"><button type="submit">Sign out</button></form></p>
${items}`,
  );
}

function approvalItem(a: Approval, csrf: string): Html {
  const chain = a.agentChain.map((actor) => actor.sub).join(' → acting for → ');
  return html`<section class="approval" id="${a.id}">
<h2>${a.action} on ${a.resourceType}${a.resourceId === null ? '' : ` ${a.resourceId}`}</h2>
<dl>
<dt>Request</dt><dd><code class="request">${a.method} ${a.target}</code></dd>
<dt>Body</dt><dd>${a.body === null || a.body.length === 0 ? html`<em>none</em>` : html`<pre class="body">${a.body.toString('utf8')}</pre>`}</dd>
<dt>Agent</dt><dd class="agents">${chain}</dd>
<dt>Your instruction</dt><dd class="intent">${a.intent ?? '(none stated)'}</dd>
<dt>Task</dt><dd>${a.txn ?? '(none)'}</dd>
<dt>Expires</dt><dd class="expires">${new Date(a.expiresAtMs).toISOString()}</dd>
</dl>
<form class="inline" method="post" action="${BASE}${a.id}/approve"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="approve">Approve</button></form>
<form class="inline" method="post" action="${BASE}${a.id}/reject"><input type="hidden" name="csrf" value="${csrf}"><button type="submit" class="reject">Reject</button></form>
</section>
`;
}

/** After login: a same-site navigation to the list, so the SameSite=Strict session cookie is sent. */
export function continuePage(): Html {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${BASE}"><title>Signed in · Mandate approvals</title></head>
<body><p>Signed in. <a href="${BASE}">Continue to your approvals</a>.</p></body></html>
`;
}

function page(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${title} · Mandate</title>
<link rel="stylesheet" href="${BASE}style.css"></head>
<body>
<h1>${title}</h1>
${body}
</body>
</html>
`;
}

export const stylesheet = `body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; max-width: 60em; }
section.approval { border: 1px solid #ccc; padding: 0.5em 1em; margin: 1em 0; }
dt { font-weight: bold; } dd { margin: 0 0 0.5em 1em; }
pre.body { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; overflow-wrap: anywhere; }
form.inline { display: inline; }
button.approve { background: #176317; color: #fff; } button.reject { background: #a11; color: #fff; }
`;
