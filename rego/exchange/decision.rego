# The token exchange decision (`opa build --entrypoint mandate/exchange/decision`): may this agent act
# for this subject on this backend, with these scopes and authorization_details? Evaluated by
# gateway/token-service/ for every exchange; the input is built in one place,
# gateway/token-service/exchange-input.ts (documented there and in the README).
#
#     decision := {"allow": <boolean>, "reasons": [<string>, ...],
#                  "scopes": [<granted scope>, ...], "authorization_details": [<granted>, ...]}
#
# Granted = requested ∩ what the subject may pass on ∩ the agent's ceiling (GW-TX-4):
#   - subject.kind "user":       the user's roles mapped through data.mandate.exchange.entitlements;
#   - subject.kind "delegation": what the presented Mandate token carries (re-delegation, renewal);
#   - subject.kind "none":       a background agent, no natural person: its ceiling alone.
# Over-broad requests: a scope beyond what the subject may pass on is refused (scope.not_entitled,
# an amplification attempt); a scope the subject has but the agent's ceiling lacks is dropped and the
# narrowed scope returned. authorization_details are never narrowed (that would change the user's
# intent): an object not entirely covered is refused.
package mandate.exchange

import data.mandate.exchange.entitlements

default allow := false

allow if count(denials) == 0

decision := {
	"allow": allow,
	"reasons": sort(denials),
	"scopes": sort(granted_scopes),
	"authorization_details": input.requested.authorization_details,
} if {
	allow
} else := {"allow": false, "reasons": sort(denials), "scopes": [], "authorization_details": []}

ceiling := input.agent.ceiling

# --- what the subject may pass on -------------------------------------------------------------------

user_roles contains role if {
	some claim in ["roles", "groups"]
	is_array(input.user.attributes[claim])
	some role in input.user.attributes[claim]
}

passable_scopes contains scope if {
	input.subject.kind == "user"
	some role in user_roles
	some scope in entitlements.roles[role][input.backend.name].scopes
}

passable_scopes contains scope if {
	input.subject.kind == "delegation"
	some scope in input.subject.scopes
}

passable_scopes contains scope if {
	input.subject.kind == "none"
	some scope in ceiling.scopes
}

passable_details contains entry if {
	input.subject.kind == "user"
	some role in user_roles
	some entry in entitlements.roles[role][input.backend.name].authorization_details
}

passable_details contains entry if {
	input.subject.kind == "delegation"
	some entry in input.subject.authorization_details
}

passable_details contains entry if {
	input.subject.kind == "none"
	some entry in ceiling.authorization_details
}

# --- the intersection ---------------------------------------------------------------------------------

granted_scopes contains scope if {
	some scope in input.requested.scopes
	scope in passable_scopes
	scope in ceiling.scopes
}

# `entry` grants `detail`: same type, every requested action listed, every other field of the entry
# matched exactly (RFC 9396 §12: no normalisation).
covers(entry, detail) if {
	entry.type == detail.type
	every action in detail.actions {
		action in entry.actions
	}
	every field, value in entry {
		constrains_nothing_else(field, value, detail)
	}
}

constrains_nothing_else(field, _, _) if field in {"type", "actions"}

constrains_nothing_else(field, value, detail) if {
	not field in {"type", "actions"}
	detail[field] == value
}

well_formed(detail) if {
	is_string(detail.type)
	is_array(detail.actions)
	count(detail.actions) > 0
	every action in detail.actions {
		is_string(action)
	}
}

# --- refusals (reasons: "area.condition[:detail]"; the area selects the OAuth error) -----------------

denials contains "input.version_unsupported" if not input.version == 1

denials contains concat(":", ["target.backend_not_allowed", input.backend.name]) if {
	not input.backend.name in ceiling.backends
}

# RFC 8693 §4.4 / GW-TX-3: a subject token naming who may act for it is obeyed, iss and sub exact.
denials contains "delegation.may_act_mismatch" if {
	input.subject.may_act != null
	not may_act_names_agent
}

may_act_names_agent if {
	input.subject.may_act.sub == input.agent.id
	object.get(input.subject.may_act, "iss", input.agent.iss) == input.agent.iss
}

# Re-delegation: the current actor must have been registered as allowed to hand tasks to this agent.
denials contains concat(":", ["delegation.not_permitted", input.agent.id]) if {
	input.grant == "re_delegation"
	not input.agent.id in input.subject.agent_delegate_to
}

denials contains "background.not_permitted" if {
	input.subject.kind == "none"
	not ceiling.background
}

denials contains "scope.none_requested" if {
	count(input.requested.scopes) == 0
	count(input.requested.authorization_details) == 0
}

denials contains concat(":", ["scope.not_entitled", scope]) if {
	some scope in input.requested.scopes
	not scope in passable_scopes
}

denials contains "scope.none_granted" if {
	count(input.requested.scopes) > 0
	count(granted_scopes) == 0
}

denials contains "details.malformed" if {
	some detail in input.requested.authorization_details
	not well_formed(detail)
}

denials contains concat(":", ["details.not_entitled", detail.type]) if {
	some detail in input.requested.authorization_details
	well_formed(detail)
	not any_covers(passable_details, detail)
}

denials contains concat(":", ["details.exceeds_ceiling", detail.type]) if {
	some detail in input.requested.authorization_details
	well_formed(detail)
	not any_covers(ceiling.authorization_details, detail)
}

any_covers(entries, detail) if {
	some entry in entries
	covers(entry, detail)
}
