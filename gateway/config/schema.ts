import { z } from 'zod';
import { approvalsSchema } from './approvals-schema.ts';
import { auditCheckpointDefaults, auditCheckpointSchema } from './audit-checkpoint-schema.ts';
import { auditSegmentSchema } from './audit-segment-schema.ts';
import { limitsSchema } from './limits-schema.ts';
import { bodyAttributesSchema, queryAttributesSchema } from './request-attributes-schema.ts';
import { resourceMetadataSchema } from './resource-metadata-schema.ts';
import { agentSchema, identityProviderSchema, tokenServiceSchema } from './token-service-schema.ts';

/**
 * The routes.yaml schema. Strict objects everywhere: an unknown key is an error, because a typo in a
 * security configuration (`polcy:`) must never silently fall back to a default.
 */

/** A secret by reference only; the value itself never appears in routes.yaml. */
const secretRef = z
  .string()
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/,
    'must be a reference: env:NAME or file:PATH (never a literal secret)',
  );

const duration = (max: number) => z.number().int().positive().max(max);

const jwksSource = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    /** How often the key set is refreshed in the background. */
    refresh_seconds: duration(86_400).default(300),
    /** How long a fetch may take before the last good key set is used instead. */
    timeout_ms: duration(60_000).default(3_000),
  }),
]);

/** Asymmetric algorithms only (RFC 8725 §3.1-3.2): no `none`, no HMAC. */
const algorithm = z.enum([
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
]);

const issuer = z.strictObject({
  /** The exact `iss` value (RFC 9068 §4 step 3: exact match). */
  issuer: z.string().min(1),
  jwks: jwksSource,
  algorithms: z.array(algorithm).min(1).default(['ES256', 'EdDSA']),
  /** Claims of the user copied into the policy input as `user.attributes` (e.g. roles, region). */
  user_claims: z.array(z.string().regex(/^[a-z_][a-z0-9_]*$/)).default(['roles', 'groups']),
  /** Whose users this issuer's `sub` names (default: the issuer itself); see crossCheckUserNamespaces. */
  user_namespace: z.string().min(1).optional(),
});

const credential = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('bearer'), name: z.string().min(1), secret: secretRef }),
  z.strictObject({
    type: z.literal('header'),
    name: z.string().min(1),
    header: z.string().regex(/^[A-Za-z0-9-]+$/),
    secret: secretRef,
  }),
  z.strictObject({
    type: z.literal('basic'),
    name: z.string().min(1),
    username: z.string().min(1),
    secret: secretRef,
  }),
  z.strictObject({ type: z.literal('none'), name: z.string().min(1).default('none') }),
]);

const headerName = z.string().regex(/^[a-z0-9-]+$/, 'lower-case header name');

const backend = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_-]*$/),
  /** Origin of the unmodified backend; a path prefix is allowed and prepended to upstream paths. */
  url: z.url({ protocol: /^https?$/ }),
  /** The audience a delegation token must carry to reach this backend. */
  audience: z.string().min(1),
  credential,
  /** Send X-Mandate-User/-Agent/-Action/-Correlation-Id to backends that can use them. */
  identity_headers: z.boolean().default(true),
  /** Extra request headers this backend needs, beyond the built-in allow-list. */
  forward_headers: z.array(headerName).default([]),
  timeouts: z
    .strictObject({
      connect_ms: duration(60_000).default(2_000),
      headers_ms: duration(300_000).default(30_000),
      body_ms: duration(600_000).default(60_000),
    })
    .default({ connect_ms: 2_000, headers_ms: 30_000, body_ms: 60_000 }),
  connections: z.number().int().positive().max(1024).default(128),
  /** RFC 9728 metadata for MCP and other OAuth clients (resource-metadata-schema.ts). Absent: none. */
  resource_metadata: resourceMetadataSchema,
});

const route = z.strictObject({
  backend: z.string(),
  method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']),
  /** Gateway path template, e.g. /procurement/contracts/{contract_id}/cancel. */
  path: z
    .string()
    .regex(/^(\/([A-Za-z0-9._~-]+|\{[a-z_][a-z0-9_]*\}))+$|^\/$/, 'segments of [A-Za-z0-9._~-] or {param}'),
  /** The business action, e.g. procurement.contract.cancel. */
  action: z.string().regex(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/),
  resource: z.strictObject({
    type: z.string().regex(/^[a-z][a-z0-9_]*$/),
    /** Literal id or a {param} of the path. */
    id: z.string().optional(),
  }),
  /** Path on the backend; may use the same {params}. */
  upstream_path: z.string().regex(/^(\/([A-Za-z0-9._~-]+|\{[a-z_][a-z0-9_]*\}))+$|^\/$/),
  /** Optional per-parameter pattern a value must match (anchored). */
  params: z.record(z.string(), z.string()).default({}),
  /** Name of the policy under rego/ (package mandate.policies.<name>). */
  policy: z
    .string()
    .regex(/^[a-z][a-z0-9_]*$/)
    .optional(),
  /**
   * WebSocket upgrades accepted on this (GET) route: authorized once like any request, then
   * tunnelled to upstream_path until either side closes or the token expires.
   */
  websocket: z.boolean().default(false),
  // Intent binding (issue #4; request-attributes-schema.ts): what of the request the policy sees.
  /** Query parameters exposed to policy as `input.request.query_params`. */
  query: queryAttributesSchema,
  /** A bounded JSON body, read before policy and forwarded byte for byte; its `fields` are `input.request.body`. */
  body: bodyAttributesSchema,
  /**
   * Staged authorization (gateway/approvals/): `read`, `approval` (the user approves each call before
   * it is forwarded, unless the policy says otherwise) or `execute`. Absent: `read` for GET and HEAD,
   * `execute` for every other method.
   */
  tier: z.enum(['read', 'approval', 'execute']).optional(),
});

/** Roles an admin API key can hold; a key has exactly the roles listed (admin does not imply auditor). */
export const adminRoles = ['admin', 'auditor'] as const;

const adminKey = z.strictObject({
  /** Who holds the key: recorded in audit events (`revoked_by`), never the key itself. */
  name: z.string().regex(/^[a-z][a-z0-9_.-]*$/),
  /** The key, by reference; at least 32 characters (checked when it is read at start). */
  secret: secretRef,
  roles: z.array(z.enum(adminRoles)).min(1),
});

/** The admin API (`/_mandate/admin/…`). Absent: every admin endpoint answers 404 MANDATE_ADMIN_DISABLED. */
const admin = z.strictObject({
  keys: z.array(adminKey).min(1),
});

export const configSchema = z.strictObject({
  version: z.literal(1),
  gateway: z
    .strictObject({
      host: z.string().default('127.0.0.1'),
      port: z.number().int().min(0).max(65_535).default(8080),
      /** Default policy for routes that do not name one. */
      default_policy: z
        .string()
        .regex(/^[a-z][a-z0-9_]*$/)
        .default('default'),
      audit_db: z.string().default('./data/audit.db'),
      /**
       * `full`: every group commit is fsynced before any request in it is forwarded, so a committed
       * decision survives power loss. `normal`: survives a crash of the gateway, not of the machine.
       */
      audit_durability: z.enum(['full', 'normal']).default('full'),
      policy_bundle: z.string().default('./.build/policy'),
      /** Mutable gateway state (revocations), SQLite in WAL mode; kept apart from the append-only audit file. */
      state_db: z.string().default('./data/state.db'),
      /**
       * On SIGTERM/SIGINT, how long calls in flight may take to finish (and have their outcome
       * recorded) before their connections are cut. No new connection is accepted meanwhile.
       */
      shutdown_grace_seconds: z.number().int().min(0).max(3_600).default(10),
      /** Signed checkpoints of the audit chain (audit-checkpoint-schema.ts). */
      audit_checkpoint: auditCheckpointSchema,
      /** Rotation into sealed segment files, and retention (audit-segment-schema.ts). Absent: no rotation. */
      audit_segment: auditSegmentSchema,
      tokens: z
        .strictObject({
          /** Longest exp - iat accepted: delegation tokens are short-lived. */
          max_lifetime_seconds: duration(86_400).default(3_600),
          /** Clock leeway for exp/nbf/iat (RFC 9068 §4: small). */
          clock_skew_seconds: z.number().int().min(0).max(60).default(30),
          /** Larger bearer values are refused before parsing. */
          max_bytes: z.number().int().min(512).max(65_536).default(8_192),
          /** Verified-token cache entries (keyed by SHA-256 of the token). */
          cache_entries: z.number().int().min(0).max(1_000_000).default(50_000),
          /** Deepest `act` nesting accepted. */
          max_chain_depth: z.number().int().min(1).max(16).default(5),
        })
        .default({
          max_lifetime_seconds: 3_600,
          clock_skew_seconds: 30,
          max_bytes: 8_192,
          cache_entries: 50_000,
          max_chain_depth: 5,
        }),
    })
    .default({
      host: '127.0.0.1',
      port: 8080,
      default_policy: 'default',
      audit_db: './data/audit.db',
      audit_durability: 'full',
      policy_bundle: './.build/policy',
      state_db: './data/state.db',
      shutdown_grace_seconds: 10,
      audit_checkpoint: auditCheckpointDefaults,
      tokens: {
        max_lifetime_seconds: 3_600,
        clock_skew_seconds: 30,
        max_bytes: 8_192,
        cache_entries: 50_000,
        max_chain_depth: 5,
      },
    }),
  /** Development helpers used by `mandate serve --demo` and `mandate token mint`. */
  dev: z
    .strictObject({
      /** Folder holding the locally generated dev signing key (created on first run). */
      keys_dir: z.string().default('./data/dev-keys'),
      /** Issuer written into dev-minted tokens; must also be listed under issuers. */
      issuer: z.string().default('https://mandate.dev.local'),
    })
    .optional(),
  admin: admin.optional(),
  issuers: z.array(issuer).min(1),
  backends: z.array(backend).min(1),
  routes: z.array(route).min(1),
  // Token service (issue #3; gateway/token-service/, sections defined in token-service-schema.ts).
  /** Mandate issues delegation tokens at POST /oauth2/token. Absent: the endpoint answers 404. */
  token_service: tokenServiceSchema.optional(),
  /** Corporate identity providers whose user tokens are accepted as `subject_token`. */
  identity_providers: z.array(identityProviderSchema).default([]),
  /** Registered agents: their keys and the most they may ever be granted. */
  agents: z.array(agentSchema).default([]),
  // Human approval of calls held by tier or policy (issue #4; gateway/approvals/, approvals-schema.ts).
  approvals: approvalsSchema,
  // Behavioural limits and the kill switch (issue #4 part 3; gateway/limits/, limits-schema.ts).
  /** Requests per window, writes, distinct resources and amount per task; requests per agent and user. */
  limits: limitsSchema,
});

export type RawConfig = z.infer<typeof configSchema>;
export type IssuerConfig = z.infer<typeof issuer>;
export type BackendConfig = z.infer<typeof backend>;
export type RouteConfig = z.infer<typeof route>;
export type CredentialConfig = z.infer<typeof credential>;
export type AdminConfig = z.infer<typeof admin>;
export type AdminRole = (typeof adminRoles)[number];
