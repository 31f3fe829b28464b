import { z } from 'zod';

/**
 * A backend's RFC 9728 protected resource metadata, served by the gateway at
 * `/.well-known/oauth-protected-resource` followed by the path of the backend's `audience` (which must
 * then be the URL agents reach the backend at through the gateway, resource-metadata-check.ts). MCP
 * clients find the authorization server this way, from the 401's `resource_metadata` parameter or the
 * well-known URL. Absent: no metadata for this backend, and no `resource_metadata` in its challenges.
 */
export const resourceMetadataSchema = z
  .strictObject({
    /** Human-readable name shown by clients (`resource_name`). */
    resource_name: z.string().min(1).max(200).optional(),
    /**
     * Issuers of delegation tokens for this backend, each with RFC 8414 metadata. Default: the token
     * service's issuer (required when there is no token service).
     */
    authorization_servers: z
      .array(z.url({ protocol: /^https?$/ }))
      .min(1)
      .optional(),
    /** The scopes a client may request for this backend (`scopes_supported`); absent, none are listed. */
    scopes_supported: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'an RFC 6749 scope token')).optional(),
    /** RFC 9396 `authorization_details` types this backend's policies read; absent, none are listed. */
    authorization_details_types_supported: z.array(z.string().min(1)).optional(),
    resource_documentation: z.url({ protocol: /^https?$/ }).optional(),
    resource_policy_uri: z.url({ protocol: /^https?$/ }).optional(),
    resource_tos_uri: z.url({ protocol: /^https?$/ }).optional(),
  })
  .optional();
