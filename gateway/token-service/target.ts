import type { BackendConfig } from '../config/schema.ts';
import { OAuthError } from './oauth-error.ts';
import type { Subject } from './subject-token.ts';

/**
 * The one backend the token is for (GW-TX-5, RFC 8707 §2): all `audience` and `resource` values must
 * name the same backend, by its configured audience (or, for `audience`, its name). None, several,
 * unknown, or — for a delegation presented again — one outside its own audience: `invalid_target`.
 * A delegation presented without a target keeps its own.
 */
export function resolveTarget(
  backends: readonly BackendConfig[],
  audience: readonly string[],
  resource: readonly string[],
  subject: Subject | null,
): BackendConfig {
  const named = [...audience, ...resource];
  if (named.length === 0 && subject?.kind === 'delegation' && subject.principal.audience.length === 1) {
    named.push(subject.principal.audience[0]!);
  }
  if (named.length !== 1)
    throw new OAuthError('invalid_target', named.length === 0 ? 'target.missing' : 'target.several');
  const value = named[0]!;
  const backend = backends.find((b) => b.audience === value || (audience.includes(value) && b.name === value));
  if (!backend) throw new OAuthError('invalid_target', 'target.unknown');
  if (subject?.kind === 'delegation' && !subject.principal.audience.includes(backend.audience)) {
    throw new OAuthError('invalid_target', 'target.outside_delegation');
  }
  return backend;
}
