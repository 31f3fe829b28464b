import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { deepFreeze } from '../deep-freeze.ts';
import { RESERVED_PREFIXES } from '../endpoints.ts';
import { isGatewayOwnedHeader } from '../pipeline/4-inject/gateway-owned-headers.ts';
import { crossCheckApprovals } from './approvals-check.ts';
import { crossCheckRequestAttributes } from './request-attributes-check.ts';
import { crossCheckResourceMetadata } from './resource-metadata-check.ts';
import { configSchema, type RawConfig } from './schema.ts';
import { crossCheckTokenService, resolveTokenServicePaths } from './token-service-check.ts';
import { crossCheckUserNamespaces } from './user-namespace-check.ts';

/** Every problem found in a configuration file, each with its path (`routes[3].backend: …`). */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(file: string, problems: readonly string[]) {
    super(`${file}: ${problems.length} configuration error(s)\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** A validated configuration: file paths are absolute, the object tree is frozen. */
export type Config = RawConfig & { readonly file: string };

/**
 * The one loader, used by `mandate serve` and `mandate check-config` alike:
 * parse (YAML, duplicate keys are errors) → validate (strict schema) → cross-check → freeze.
 */
export function loadConfig(file: string): Config {
  const absolute = resolve(file);
  return parseConfig(readFileSync(absolute, 'utf8'), absolute);
}

export function parseConfig(text: string, file: string): Config {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `yaml: ${e.message.split('\n')[0]}`),
    );
  }
  const parsed = configSchema.safeParse(doc.toJS());
  if (!parsed.success) {
    throw new ConfigError(file, parsed.error.issues.map(formatIssue));
  }
  const problems = crossCheck(parsed.data);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return deepFreeze({ ...resolvePaths(parsed.data, dirname(file)), file });
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
  return `${path || '(root)'}: ${issue.message}`;
}

const paramsOf = (template: string): string[] =>
  [...template.matchAll(/\{([a-z_][a-z0-9_]*)\}/g)].map((m) => m[1] as string);

/** Checks the schema cannot express: references between sections and route ambiguity. */
function crossCheck(config: RawConfig): string[] {
  const problems: string[] = [];
  const backends = new Set<string>();
  config.backends.forEach((b, i) => {
    if (backends.has(b.name)) problems.push(`backends[${i}].name: duplicate backend "${b.name}"`);
    backends.add(b.name);
    b.forward_headers.forEach((h, j) => {
      // The gateway owns these: letting an agent's value through would reopen what inject removes.
      if (isGatewayOwnedHeader(h)) {
        problems.push(`backends[${i}].forward_headers[${j}]: "${h}" is set or removed by the gateway`);
      }
    });
  });
  const issuers = new Set<string>();
  config.issuers.forEach((iss, i) => {
    if (issuers.has(iss.issuer)) problems.push(`issuers[${i}].issuer: duplicate issuer "${iss.issuer}"`);
    issuers.add(iss.issuer);
  });
  const adminKeys = new Set<string>();
  config.admin?.keys.forEach((k, i) => {
    if (adminKeys.has(k.name)) problems.push(`admin.keys[${i}].name: duplicate admin key name "${k.name}"`);
    adminKeys.add(k.name);
  });
  if (config.dev && !issuers.has(config.dev.issuer)) {
    problems.push(`dev.issuer: "${config.dev.issuer}" is not listed under issuers`);
  }
  problems.push(...crossCheckTokenService(config, backends, issuers));
  problems.push(...crossCheckUserNamespaces(config));
  problems.push(...crossCheckApprovals(config));
  problems.push(...crossCheckResourceMetadata(config));
  const known = [...backends].sort().join(', ');
  const seen = new Map<string, number>();
  config.routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    if (!backends.has(r.backend)) problems.push(`${at}.backend: unknown backend "${r.backend}" (known: ${known})`);
    const params = paramsOf(r.path);
    const unique = new Set(params);
    for (const p of unique) {
      if (p === '__proto__' || p === 'constructor' || p === 'prototype') {
        problems.push(`${at}.path: {${p}} is not allowed as a parameter name`);
      }
    }
    if (unique.size !== params.length) problems.push(`${at}.path: a parameter appears twice`);
    for (const p of paramsOf(r.upstream_path)) {
      if (!unique.has(p)) problems.push(`${at}.upstream_path: {${p}} is not a parameter of path`);
    }
    const id = r.resource.id?.match(/^\{([a-z_][a-z0-9_]*)\}$/)?.[1];
    if (id !== undefined && !unique.has(id)) problems.push(`${at}.resource.id: {${id}} is not a parameter of path`);
    for (const [name, pattern] of Object.entries(r.params)) {
      if (!unique.has(name)) problems.push(`${at}.params.${name}: not a parameter of path`);
      try {
        new RegExp(pattern);
      } catch {
        problems.push(`${at}.params.${name}: invalid regular expression`);
      }
    }
    // The gateway's own endpoints (token service, discovery, admin) must never be shadowed by a backend.
    const reserved = RESERVED_PREFIXES.find((prefix) => r.path === prefix || r.path.startsWith(prefix));
    if (reserved) problems.push(`${at}.path: ${reserved} is reserved for the gateway's own endpoints`);
    // RFC 6455 §4.1: the opening handshake is a GET; an upgrade on any other route could never match.
    if (r.websocket && r.method !== 'GET') {
      problems.push(`${at}.websocket: only a GET route can accept WebSocket upgrades (RFC 6455 §4.1)`);
    }
    problems.push(...crossCheckRequestAttributes(r, at));
    // Two routes whose templates match the same requests would make resolution order-dependent.
    const shape = `${r.method} ${r.path.replace(/\{[^}]+\}/g, '{}')}`;
    const first = seen.get(shape);
    if (first !== undefined) problems.push(`${at}.path: same method and path shape as routes[${first}]`);
    else seen.set(shape, i);
  });
  return problems;
}

function resolvePaths(config: RawConfig, base: string): RawConfig {
  const at = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const ref = (s: string) => (s.startsWith('file:') ? `file:${at(s.slice(5))}` : s);
  return {
    ...config,
    gateway: {
      ...config.gateway,
      audit_db: at(config.gateway.audit_db),
      policy_bundle: at(config.gateway.policy_bundle),
      state_db: at(config.gateway.state_db),
      audit_checkpoint: {
        ...config.gateway.audit_checkpoint,
        key_dir: at(config.gateway.audit_checkpoint.key_dir),
        file: at(config.gateway.audit_checkpoint.file),
      },
      ...(config.gateway.audit_segment?.retention?.archive_dir === undefined
        ? {}
        : {
            audit_segment: {
              ...config.gateway.audit_segment,
              retention: {
                ...config.gateway.audit_segment.retention,
                archive_dir: at(config.gateway.audit_segment.retention.archive_dir),
              },
            },
          }),
    },
    ...(config.admin ? { admin: { keys: config.admin.keys.map((k) => ({ ...k, secret: ref(k.secret) })) } } : {}),
    ...(config.dev ? { dev: { ...config.dev, keys_dir: at(config.dev.keys_dir) } } : {}),
    issuers: config.issuers.map((i) => ('file' in i.jwks ? { ...i, jwks: { file: at(i.jwks.file) } } : i)),
    ...resolveTokenServicePaths(config, at),
    backends: config.backends.map((b) =>
      'secret' in b.credential ? { ...b, credential: { ...b.credential, secret: ref(b.credential.secret) } } : b,
    ),
  };
}
