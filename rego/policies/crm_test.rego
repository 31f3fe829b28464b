package mandate.policies.crm_test

import data.mandate
import data.mandate.test.fixtures

allowed := {"allow": true, "reasons": []}

denied(reasons) := {"allow": false, "reasons": reasons}

# bob's request for the same customer in another region.
in_region(inp, region) := object.union(inp, {"request": {"params": {"region": region}}})

update := object.union(fixtures.bob_read, {"action": "crm.customer.update", "request": {"method": "PATCH"}})

editor := object.union(update, {
	"user": {"attributes": {"roles": ["crm_editor"]}},
	"token": {"scopes": ["crm:write"]},
})

test_support_reads_a_customer_of_their_region if {
	mandate.decision == allowed with input as fixtures.bob_read
}

test_support_cannot_read_another_region if {
	mandate.decision == denied(["region.mismatch"]) with input as in_region(fixtures.bob_read, "amer")
}

test_region_is_compared_exactly if {
	mandate.decision == denied(["region.mismatch"]) with input as in_region(fixtures.bob_read, "EMEA")
}

test_a_user_without_region_reads_no_region if {
	inp := json.remove(fixtures.bob_read, ["user/attributes/region"])
	mandate.decision == denied(["region.mismatch"]) with input as inp
}

test_read_needs_role_and_scope if {
	inp := object.union(fixtures.bob_read, {"user": {"attributes": {"roles": []}}, "token": {"scopes": []}})
	mandate.decision == denied(["role.missing:support", "scope.missing:crm:read"]) with input as inp
}

test_support_cannot_update if {
	mandate.decision == denied(["role.missing:crm_editor", "scope.missing:crm:write"]) with input as update
}

test_editor_updates_in_any_region if {
	mandate.decision == allowed with input as in_region(editor, "amer")
}

test_update_needs_the_write_scope if {
	inp := object.union(editor, {"token": {"scopes": ["crm:read"]}})
	mandate.decision == denied(["scope.missing:crm:write"]) with input as inp
}

test_unknown_action_is_denied if {
	inp := object.union(fixtures.bob_read, {"action": "crm.customer.delete"})
	mandate.decision == denied(["action.unknown"]) with input as inp
}
