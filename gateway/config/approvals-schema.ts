import { z } from 'zod';

/**
 * routes.yaml `approvals` (issue #4, gateway/approvals/): how long a held call waits for its user, and
 * the address users reach the approval page and API at. Strict, like the rest of the schema.
 */
export const approvalsSchema = z
  .strictObject({
    /** An approval request must be decided and used within this long of the call that asked for it. */
    expires_seconds: z.number().int().positive().max(86_400).default(900),
    /**
     * The gateway's address as users see it (scheme, host, port; no path), for the links given to the
     * agent and the login redirect. Absent: `http://` + the request's Host — set it in production.
     */
    public_url: z.url({ protocol: /^https?$/ }).optional(),
    /** Longest an approval page session lasts after login. */
    session_seconds: z.number().int().positive().max(86_400).default(1_800),
    /**
     * Most approvals waiting for one user at once. Each held call stores a row (its body included) and
     * lands on her page; past this, a held call is refused (429) rather than queued, so a runaway or
     * hostile agent can neither fill the state database nor bury the user's real requests.
     */
    max_pending_per_user: z.number().int().positive().max(10_000).default(50),
  })
  .default({ expires_seconds: 900, session_seconds: 1_800, max_pending_per_user: 50 });

/**
 * `identity_providers[].approval_login`: Mandate as an OpenID Connect relying party of this IdP, for
 * the approval page (authorization code + PKCE). At most one identity provider has it.
 */
export const approvalLoginSchema = z.strictObject({
  client_id: z.string().min(1),
  /** By reference, like every secret: env:NAME or file:PATH. */
  client_secret: z
    .string()
    .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be a reference: env:NAME or file:PATH')
    .optional(),
  /** Absent: `<public_url or http://Host>/_mandate/approvals/callback`. */
  redirect_uri: z.url({ protocol: /^https?$/ }).optional(),
});

export type ApprovalsConfig = z.infer<typeof approvalsSchema>;
export type ApprovalLoginConfig = z.infer<typeof approvalLoginSchema>;
