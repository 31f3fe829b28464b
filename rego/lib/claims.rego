# Role and scope checks shared by the policies.
package mandate.lib.claims

# The user's `roles` attribute (an allow-listed user claim, routes.yaml issuers[].user_claims) is an
# array containing `role`. A single string is not accepted: it is compared exactly or not at all.
has_role(user, role) if {
	is_array(user.attributes.roles)
	role in user.attributes.roles
}

# The token's space-separated `scope` claim (RFC 8693 §4.2), as a list, contains `scope`.
has_scope(token, scope) if scope in token.scopes

# Reasons `user` and `token` fall short of `requirement` = {"role": R, "scope": S}: the set of
# "role.missing:R" and "scope.missing:S" that apply; empty when both hold. Undefined when the
# requirement lacks either key, which a policy's positive `allow` turns into a denial.
unmet(requirement, user, token) := role_unmet(user, requirement.role) | scope_unmet(token, requirement.scope)

role_unmet(user, role) := set() if {
	has_role(user, role)
} else := {concat(":", ["role.missing", role])}

scope_unmet(token, scope) := set() if {
	has_scope(token, scope)
} else := {concat(":", ["scope.missing", scope])}
