import type { RawConfig } from './schema.ts';

/**
 * Cross-checks of the token service's sections (references the schema cannot express), reported
 * with their paths like every other configuration error.
 */
export function crossCheckTokenService(
  config: RawConfig,
  backends: ReadonlySet<string>,
  issuers: ReadonlySet<string>,
): string[] {
  const problems: string[] = [];
  const ts = config.token_service;
  if (ts && issuers.has(ts.issuer)) {
    problems.push(`token_service.issuer: "${ts.issuer}" is trusted automatically; remove it from issuers`);
  }
  const idps = new Set<string>();
  config.identity_providers.forEach((idp, i) => {
    if (idps.has(idp.issuer)) problems.push(`identity_providers[${i}].issuer: duplicate issuer "${idp.issuer}"`);
    if (ts && idp.issuer === ts.issuer) {
      problems.push(`identity_providers[${i}].issuer: "${idp.issuer}" is the token service's own issuer`);
    }
    idps.add(idp.issuer);
    idp.approver_audiences?.forEach((aud, j) => {
      if (idp.audiences.includes(aud)) {
        problems.push(
          `identity_providers[${i}].approver_audiences[${j}]: "${aud}" is also an exchange audience; a token an agent holds must never approve`,
        );
      }
    });
  });
  const agents = new Set(config.agents.map((a) => a.id));
  const known = [...backends].sort().join(', ');
  const seen = new Set<string>();
  config.agents.forEach((agent, i) => {
    if (seen.has(agent.id)) problems.push(`agents[${i}].id: duplicate agent "${agent.id}"`);
    seen.add(agent.id);
    agent.ceiling.backends.forEach((b, j) => {
      if (!backends.has(b))
        problems.push(`agents[${i}].ceiling.backends[${j}]: unknown backend "${b}" (known: ${known})`);
    });
    agent.ceiling.delegate_to.forEach((a, j) => {
      if (!agents.has(a)) problems.push(`agents[${i}].ceiling.delegate_to[${j}]: unknown agent "${a}"`);
    });
  });
  if (!ts && (config.agents.length > 0 || config.identity_providers.length > 0)) {
    problems.push('token_service: required when agents or identity_providers are configured');
  }
  return problems;
}

/** Relative paths of the token service's sections, resolved against routes.yaml's folder. */
export function resolveTokenServicePaths(
  config: RawConfig,
  at: (path: string) => string,
): Pick<RawConfig, 'token_service' | 'identity_providers' | 'agents'> {
  const jwks = <T extends { jwks: { file: string } | object }>(o: T): T =>
    'file' in o.jwks ? { ...o, jwks: { file: at((o.jwks as { file: string }).file) } } : o;
  return {
    ...(config.token_service
      ? { token_service: { ...config.token_service, keys_dir: at(config.token_service.keys_dir) } }
      : {}),
    identity_providers: config.identity_providers.map((idp) => {
      const secret = idp.approval_login?.client_secret;
      const resolved = jwks(idp);
      return secret?.startsWith('file:')
        ? { ...resolved, approval_login: { ...idp.approval_login!, client_secret: `file:${at(secret.slice(5))}` } }
        : resolved;
    }),
    agents: config.agents.map(jwks),
  };
}
