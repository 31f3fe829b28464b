import { LOOPBACK } from './loopback.ts';
import type { RawConfig } from './schema.ts';

/** Cross-checks of staged authorization (routes' `tier`, `approvals`, `approval_login`), with their paths. */
export function crossCheckApprovals(config: RawConfig): string[] {
  const problems: string[] = [];
  const logins = config.identity_providers.flatMap((idp, i) => (idp.approval_login ? [i] : []));
  for (const i of logins.slice(1)) {
    problems.push(
      `identity_providers[${i}].approval_login: only one identity provider can log users in to the approval page (identity_providers[${logins[0]}] does)`,
    );
  }
  for (const i of logins) {
    const issuer = URL.parse(config.identity_providers[i]!.issuer);
    // openid-client talks to the IdP over plain HTTP only on this machine (tests, local development).
    if (issuer === null || (issuer.protocol !== 'https:' && !LOOPBACK.has(issuer.hostname))) {
      problems.push(
        `identity_providers[${i}].issuer: the approval page logs in over https only (or a loopback http IdP)`,
      );
    }
  }
  // Without either, the login's redirect_uri comes from the request's Host: fine when only this machine
  // can reach the gateway, but on a network it should be the address the IdP registered, not a header.
  const loopbackOnly = LOOPBACK.has(config.gateway.host);
  for (const i of logins) {
    if (
      !loopbackOnly &&
      config.approvals.public_url === undefined &&
      !config.identity_providers[i]!.approval_login!.redirect_uri
    ) {
      problems.push(
        `identity_providers[${i}].approval_login.redirect_uri: required (or approvals.public_url) when the gateway listens beyond loopback`,
      );
    }
  }
  config.routes.forEach((r, i) => {
    // The approval binds the exact request: a body the gateway streams unread could differ on the retry.
    if (r.tier === 'approval' && BODY_METHODS.has(r.method) && r.body === undefined) {
      problems.push(
        `routes[${i}].body: a ${r.method} route of tier approval must read its body (body: {max_bytes: …}), which the approval covers`,
      );
    }
  });
  return problems;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
