package mandate_test

import data.mandate
import data.mandate.test.fixtures

allowed := {"allow": true, "reasons": []}

test_dispatches_to_the_named_policy if {
	mandate.decision == allowed with input as fixtures.alice_cancel
		with data.mandate.policies.procurement.decision as allowed
}

test_passes_a_denial_through if {
	denied := {"allow": false, "reasons": ["scope.missing:procurement:write"]}
	mandate.decision == denied with input as fixtures.alice_cancel
		with data.mandate.policies.procurement.decision as denied
}

test_unknown_policy_denies if {
	inp := object.union(fixtures.alice_cancel, {"route": {"policy": "billing"}})
	mandate.decision == {"allow": false, "reasons": ["policy.not_found"]} with input as inp
}

test_missing_policy_name_denies if {
	inp := json.remove(fixtures.alice_cancel, ["route/policy"])
	mandate.decision == {"allow": false, "reasons": ["policy.not_found"]} with input as inp
}

test_other_input_version_denies_whatever_the_policy_says if {
	inp := object.union(fixtures.alice_cancel, {"version": 2})
	mandate.decision == {"allow": false, "reasons": ["input.version_unsupported"]} with input as inp
		with data.mandate.policies.procurement.decision as allowed
}

test_missing_input_version_denies if {
	inp := json.remove(fixtures.alice_cancel, ["version"])
	mandate.decision.reasons == ["input.version_unsupported"] with input as inp
}

test_empty_agent_chain_denies_whatever_the_policy_says if {
	inp := object.union(fixtures.alice_cancel, {"agent_chain": []})
	mandate.decision == {"allow": false, "reasons": ["agent.missing"]} with input as inp
		with data.mandate.policies.procurement.decision as allowed
}

test_common_denials_are_all_reported_sorted if {
	inp := object.union(fixtures.alice_cancel, {"version": 0, "agent_chain": []})
	mandate.decision.reasons == ["agent.missing", "input.version_unsupported"] with input as inp
}

test_passes_approval_required_through if {
	held := {"allow": true, "reasons": [], "approval_required": true}
	mandate.decision == held with input as fixtures.alice_cancel
		with data.mandate.policies.procurement.decision as held
}

test_common_denial_drops_approval_required if {
	held := {"allow": true, "reasons": [], "approval_required": true}
	inp := object.union(fixtures.alice_cancel, {"agent_chain": []})
	mandate.decision == {"allow": false, "reasons": ["agent.missing"]} with input as inp
		with data.mandate.policies.procurement.decision as held
}
