import type { AgentConfig } from '../config/token-service-schema.ts';
import type { Subject } from './subject-token.ts';

/** What kind of issuance this is; decided by the endpoint from the subject and the actor. */
export type GrantKind = 'delegation' | 're_delegation' | 'renewal' | 'background';

/**
 * The document `mandate/exchange/decision` sees as `input` (version 1), built only here. snake_case,
 * absent values null. Never a token or its hash.
 *
 * ```json
 * { "version": 1, "time": {"unix_ms": …, "iso": …}, "grant": "delegation",
 *   "user": {"id": "alice", "issuer": "https://idp…", "attributes": {"roles": ["procurement"]}},
 *   "no_user": false,
 *   "subject": {"kind": "user", "may_act": null, "scopes": null, "authorization_details": null,
 *               "agent": null, "agent_delegate_to": []},
 *   "agent": {"id": "hr-agent", "iss": "https://mandate…", "ceiling": {…routes.yaml agents[].ceiling}},
 *   "backend": {"name": "procurement", "audience": "https://procurement…"},
 *   "requested": {"scopes": ["procurement:read"], "authorization_details": [{…}]} }
 * ```
 * `subject.kind` is `user` (an IdP token), `delegation` (a Mandate token: re-delegation, renewal;
 * `scopes`/`authorization_details` are what it carries, `agent` its current actor and
 * `agent_delegate_to` that actor's registered `delegate_to`) or `none` (a background agent).
 */
export function buildExchangeInput(args: {
  grant: GrantKind;
  subject: Subject | null;
  agent: AgentConfig;
  ownIssuer: string;
  currentActorDelegateTo: readonly string[];
  backend: { name: string; audience: string };
  requestedScopes: readonly string[];
  requestedDetails: readonly unknown[];
  nowMs: number;
}): object {
  const { subject } = args;
  const principal = subject?.kind === 'delegation' ? subject.principal : undefined;
  const user =
    subject === null || principal?.noUser
      ? null
      : subject.kind === 'user'
        ? { id: subject.user, issuer: subject.issuer, attributes: subject.attributes }
        : { id: principal!.user, issuer: principal!.issuer, attributes: principal!.attributes };
  return {
    version: 1,
    time: { unix_ms: args.nowMs, iso: new Date(args.nowMs).toISOString() },
    grant: args.grant,
    user,
    no_user: user === null,
    subject: {
      kind: subject === null ? 'none' : subject.kind,
      may_act: subject?.kind === 'user' ? subject.mayAct : null,
      scopes: principal?.scopes ?? null,
      authorization_details: principal?.authorizationDetails ?? null,
      agent: principal ? { sub: principal.agent.sub, iss: principal.agent.iss ?? null } : null,
      agent_delegate_to: args.currentActorDelegateTo,
    },
    agent: { id: args.agent.id, iss: args.ownIssuer, ceiling: args.agent.ceiling },
    backend: args.backend,
    requested: { scopes: args.requestedScopes, authorization_details: args.requestedDetails },
  };
}
