import { z } from 'zod';
import { approvalLoginSchema } from './approvals-schema.ts';

/**
 * The token service's sections of routes.yaml (issue #3): Mandate's own issuer and signing keys, the
 * corporate identity providers whose user tokens it accepts as `subject_token`, and the registered
 * agents with their keys and ceilings. Imported by schema.ts; strict objects, like the rest.
 */

const seconds = (max: number) => z.number().int().positive().max(max);

const jwksSource = z.union([
  z.strictObject({ file: z.string().min(1) }),
  z.strictObject({
    url: z.url({ protocol: /^https?$/ }),
    refresh_seconds: seconds(86_400).default(300),
    timeout_ms: seconds(60_000).default(3_000),
  }),
]);

const signatureAlgorithm = z.enum(['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'PS256']);

/** A claim name copied from a token (e.g. roles, groups, region). */
const claimName = z.string().regex(/^[a-z_][a-z0-9_]*$/);

export const tokenServiceSchema = z.strictObject({
  /** `iss` of every token Mandate issues; the proxy trusts it without an `issuers:` entry. Its URL base is advertised in the metadata. */
  issuer: z.url({ protocol: /^https?$/ }),
  /** Git-ignored folder holding Mandate's signing keys (generated on first run, private keys 0600). */
  keys_dir: z.string().default('./data/token-service-keys'),
  algorithm: z.enum(['ES256', 'EdDSA']).default('ES256'),
  /** Lifetime of an issued token; also capped by the inputs' `exp` (GW-TX-7). */
  token_lifetime_seconds: seconds(3_600).default(300),
  /** A task (`txn`) can be renewed until this long after its first token was issued. */
  max_task_lifetime_seconds: seconds(7 * 86_400).default(3_600),
  /** Deepest `act` chain the service issues (re-delegation beyond it is refused, never truncated). */
  max_chain_depth: z.number().int().min(1).max(16).default(4),
  /** A signing key signs for this long; its public key stays published until its last token expired. */
  rotate_after_seconds: seconds(366 * 86_400).default(30 * 86_400),
});

export const identityProviderSchema = z.strictObject({
  /** The IdP's exact `iss`. */
  issuer: z.string().min(1),
  jwks: jwksSource,
  algorithms: z.array(signatureAlgorithm).min(1).default(['ES256', 'EdDSA', 'RS256']),
  /** A subject token's `aud` must contain one of these (Mandate's client id / resource at the IdP). */
  audiences: z.array(z.string().min(1)).min(1),
  /** subject_token_type values accepted from this IdP (GW-TX-8): access tokens by default. */
  token_types: z
    .array(z.enum(['access_token', 'id_token']))
    .min(1)
    .default(['access_token']),
  /** User claims passed to the exchange policy (entitlement mapping) and carried into issued tokens. */
  user_claims: z.array(claimName).default(['roles', 'groups']),
  /**
   * `aud` of the tokens a user approves with (the approvals API) or resumes her task with — never one of
   * `audiences`. The token her agent holds for the exchange is for `audiences`; were it accepted here,
   * the agent could approve its own held call. A chat front-end gets a token for this audience for the
   * user herself. Absent: the API accepts no token from this IdP (the approval page still works).
   */
  approver_audiences: z.array(z.string().min(1)).min(1).optional(),
  /** The approval page logs users in at this IdP (approvals-schema.ts). */
  approval_login: approvalLoginSchema.optional(),
  /** Whose users this IdP's `sub` names (default: the IdP itself); see crossCheckUserNamespaces. */
  user_namespace: z.string().min(1).optional(),
});

const detailCeiling = z.strictObject({
  type: z.string().min(1),
  actions: z.array(z.string().min(1)).min(1),
});

export const agentSchema = z.strictObject({
  /** The agent's id: its client_id, the `sub` of its own JWTs and of `act` in issued tokens. */
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/),
  /** The agent's public keys (client assertions and actor tokens are signed with them). */
  jwks: jwksSource,
  algorithms: z.array(signatureAlgorithm).min(1).default(['ES256', 'EdDSA']),
  /** The most this agent may ever be granted, whoever it acts for. */
  ceiling: z.strictObject({
    backends: z.array(z.string().min(1)).min(1),
    scopes: z.array(z.string().min(1)).default([]),
    authorization_details: z.array(detailCeiling).default([]),
    /** Agents this one may hand a task to (re-delegation). */
    delegate_to: z.array(z.string().min(1)).default([]),
    /** May obtain tokens with no user behind them (`grant_type=client_credentials`). */
    background: z.boolean().default(false),
  }),
});

export type TokenServiceConfig = z.infer<typeof tokenServiceSchema>;
export type IdentityProviderConfig = z.infer<typeof identityProviderSchema>;
export type AgentConfig = z.infer<typeof agentSchema>;
