package mandate.exchange_test

import data.mandate.exchange

hr_agent := {
	"id": "hr-agent",
	"iss": "https://mandate.test",
	"ceiling": {
		"backends": ["procurement"],
		"scopes": ["procurement:read"],
		"authorization_details": [{"type": "procurement_contract", "actions": ["read", "cancel"]}],
		"background": false,
	},
}

alice_input(requested) := {
	"version": 1,
	"grant": "delegation",
	"user": {"id": "alice", "attributes": {"roles": ["procurement"]}},
	"subject": {"kind": "user", "may_act": null},
	"agent": hr_agent,
	"backend": {"name": "procurement"},
	"requested": requested,
}

cancel_12345 := [{"type": "procurement_contract", "actions": ["cancel"], "identifier": "12345"}]

test_granted_is_requested_within_entitlements_and_ceiling if {
	d := exchange.decision with input as alice_input({"scopes": ["procurement:read"], "authorization_details": cancel_12345})
	d.allow
	d.scopes == ["procurement:read"]
	d.authorization_details == cancel_12345
}

test_scope_beyond_ceiling_but_entitled_is_narrowed if {
	d := exchange.decision with input as alice_input({"scopes": ["procurement:read", "procurement:write"], "authorization_details": []})
	d.allow
	d.scopes == ["procurement:read"]
}

test_scope_beyond_the_user_is_refused if {
	d := exchange.decision with input as alice_input({"scopes": ["procurement:read", "crm:read"], "authorization_details": []})
	not d.allow
	d.reasons == ["scope.not_entitled:crm:read"]
}

test_only_ceiling_less_scopes_is_refused if {
	d := exchange.decision with input as alice_input({"scopes": ["procurement:write"], "authorization_details": []})
	d.reasons == ["scope.none_granted"]
}

test_detail_beyond_the_ceiling_is_refused if {
	details := [{"type": "procurement_contract", "actions": ["pause"], "identifier": "1"}]
	d := exchange.decision with input as alice_input({"scopes": [], "authorization_details": details})
	d.reasons == ["details.exceeds_ceiling:procurement_contract"]
}

test_detail_beyond_the_user_is_refused if {
	details := [{"type": "crm_customer", "actions": ["read"]}]
	d := exchange.decision with input as alice_input({"scopes": [], "authorization_details": details})
	d.reasons == ["details.exceeds_ceiling:crm_customer", "details.not_entitled:crm_customer"]
}

test_malformed_detail_is_refused if {
	d := exchange.decision with input as alice_input({"scopes": [], "authorization_details": [{"type": "procurement_contract"}]})
	d.reasons == ["details.malformed"]
}

test_a_user_without_the_role_gets_nothing if {
	bob := object.union(alice_input({"scopes": ["procurement:read"], "authorization_details": []}), {"user": {"id": "bob", "attributes": {"roles": ["support"]}}})
	d := exchange.decision with input as bob
	d.reasons == ["scope.none_granted", "scope.not_entitled:procurement:read"]
}

test_backend_outside_the_ceiling_is_an_invalid_target if {
	i := object.union(alice_input({"scopes": ["crm:read"], "authorization_details": []}), {"backend": {"name": "crm"}})
	d := exchange.decision with input as i
	"target.backend_not_allowed:crm" in d.reasons
}

test_may_act_naming_another_agent_is_refused if {
	i := object.union(alice_input({"scopes": ["procurement:read"], "authorization_details": []}), {"subject": {"may_act": {"sub": "other-agent"}}})
	d := exchange.decision with input as i
	d.reasons == ["delegation.may_act_mismatch"]
}

test_may_act_naming_this_agent_is_honoured if {
	may_act := {"sub": "hr-agent", "iss": "https://mandate.test"}
	i := object.union(alice_input({"scopes": ["procurement:read"], "authorization_details": []}), {"subject": {"may_act": may_act}})
	exchange.decision.allow with input as i
}

test_may_act_with_another_issuer_is_refused if {
	may_act := {"sub": "hr-agent", "iss": "https://elsewhere.test"}
	i := object.union(alice_input({"scopes": ["procurement:read"], "authorization_details": []}), {"subject": {"may_act": may_act}})
	not exchange.decision.allow with input as i
}

delegation_input(requested, delegate_to) := object.union(alice_input(requested), {
	"grant": "re_delegation",
	"subject": {
		"kind": "delegation", "may_act": null,
		"scopes": ["procurement:read"], "authorization_details": cancel_12345,
		"agent_delegate_to": delegate_to,
	},
})

test_re_delegation_only_narrows_details if {
	wider := [{"type": "procurement_contract", "actions": ["cancel"], "identifier": "99999"}]
	d := exchange.decision with input as delegation_input({"scopes": [], "authorization_details": wider}, ["hr-agent"])
	d.reasons == ["details.not_entitled:procurement_contract"]
	ok := exchange.decision with input as delegation_input({"scopes": ["procurement:read"], "authorization_details": cancel_12345}, ["hr-agent"])
	ok.allow
}

test_re_delegation_needs_the_current_actor_to_permit_it if {
	d := exchange.decision with input as delegation_input({"scopes": ["procurement:read"], "authorization_details": []}, [])
	d.reasons == ["delegation.not_permitted:hr-agent"]
}

test_background_agent_needs_the_ceiling_flag if {
	i := object.union(alice_input({"scopes": ["procurement:read"], "authorization_details": []}), {"grant": "background", "user": null, "subject": {"kind": "none"}})
	d := exchange.decision with input as i
	d.reasons == ["background.not_permitted"]
	ok := exchange.decision with input as object.union(i, {"agent": {"ceiling": {"background": true}}})
	ok.allow
	ok.scopes == ["procurement:read"]
}

test_an_empty_request_is_refused if {
	d := exchange.decision with input as alice_input({"scopes": [], "authorization_details": []})
	d.reasons == ["scope.none_requested"]
}
