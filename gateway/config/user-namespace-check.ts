import type { RawConfig } from './schema.ts';

/**
 * A user is her token's `sub` wherever Mandate keeps track of her — revocation by user, per-user
 * limits, task ownership, approvals (README "Known limitations") — whichever issuer or identity
 * provider vouched for her. Two user directories whose subjects could collide would then make one
 * person able to approve, resume or revoke for another, so the configuration must bring users from
 * one namespace only: each delegation issuer and identity provider names its users' namespace
 * (`user_namespace`, by default its own issuer), and they must all agree. Operators whose IdPs share
 * one directory (the same subjects) say so by giving them the same `user_namespace`.
 */
export function crossCheckUserNamespaces(config: RawConfig): string[] {
  const named = [
    ...config.issuers.map((i, n) => ({ at: `issuers[${n}]`, namespace: i.user_namespace ?? i.issuer })),
    ...config.identity_providers.map((i, n) => ({
      at: `identity_providers[${n}]`,
      namespace: i.user_namespace ?? i.issuer,
    })),
  ];
  const first = named[0];
  const other = named.find((n) => n.namespace !== first?.namespace);
  if (first === undefined || other === undefined) return [];
  return [
    `${other.at}.user_namespace: users are matched by their token's sub alone, so every issuer and identity provider must vouch for one user namespace; "${other.namespace}" here, "${first.namespace}" at ${first.at} (give both the same user_namespace if their subjects are one directory)`,
  ];
}
