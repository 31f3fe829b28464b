# The single entrypoint the gateway evaluates (`opa build --entrypoint mandate/decision`).
#
# `input` is the versioned document built by gateway/pipeline/3-authorize/policy-input.ts
# (documented there and in the README). routes.yaml names a policy per route; the policy lives in
# package mandate.policies.<name> and defines `decision`.
#
# The decision contract, for this entrypoint and for every policy:
#
#     decision := {"allow": <boolean>, "reasons": [<string>, ...]}
#     decision := {"allow": <boolean>, "reasons": [...], "approval_required": <boolean>}  (optional member)
#
# `allow` is the answer. `reasons` say why a request was denied, as "area.condition[:detail]"
# strings the agent can act on (e.g. "scope.missing:procurement:write"); the gateway returns them
# in the 403 and records them in the audit trail. Anything else (an undefined decision, a
# non-boolean allow, reasons that are not strings, more than one result) is a policy error, and the
# gateway denies with 500 MANDATE_AUTHZ_POLICY_ERROR: it fails closed.
#
# `approval_required` (staged authorization, gateway/approvals/) only matters when `allow` is true:
# true holds the call until the user approves this exact request; false waives the approval a route
# of tier "approval" (routes.yaml, visible as input.route.tier) would otherwise need; absent, the
# tier decides. A denial is never turned into an approval request: approval can narrow what policy
# allows, never widen it. A non-boolean value is a policy error (deny).
#
# Writing a policy: compute `allow` positively (`default allow := false` plus rules that must all
# hold), and `reasons` from `not <check>` so that an undefined value denies rather than allows.
package mandate

# Checks every route gets whatever its policy says. Any of these denies, with these reasons only.
common_denials contains "input.version_unsupported" if not input.version == 1

# RFC 8693 §4.1: the agent is the outermost `act`. A token without an actor is not a delegation.
common_denials contains "agent.missing" if not count(input.agent_chain) > 0

# The route's named policy decides; a name with no policy behind it denies rather than errors, so
# a route added to routes.yaml before its Rego is written stays closed.
route_decision := data.mandate.policies[input.route.policy].decision

default route_decision := {"allow": false, "reasons": ["policy.not_found"]}

decision := {"allow": false, "reasons": sort(common_denials)} if {
	count(common_denials) > 0
} else := route_decision
