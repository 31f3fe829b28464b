# The policy of every route that names none (routes.yaml gateway.default_policy): nothing is allowed
# until someone writes a policy for the route's action.
package mandate.policies.default

decision := {"allow": false, "reasons": ["policy.default_deny"]}
