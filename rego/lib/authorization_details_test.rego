package mandate.lib.authorization_details_test

import data.mandate.lib.authorization_details as rar

cancel_12345 := {"type": "procurement_contract", "actions": ["cancel"], "identifier": "12345"}

test_grants_the_named_verb_on_the_named_resource if {
	rar.grants([cancel_12345], "procurement_contract", "cancel", "12345")
}

test_any_one_object_may_grant if {
	rar.grants(
		[{"type": "other", "actions": ["read"]}, cancel_12345],
		"procurement_contract", "cancel", "12345",
	)
}

test_other_verb_is_not_granted if {
	not rar.grants([cancel_12345], "procurement_contract", "pause", "12345")
	rar.denial([cancel_12345], "procurement_contract", "pause", "12345") == "intent.action_not_authorized"
}

test_other_identifier_is_drift if {
	not rar.grants([cancel_12345], "procurement_contract", "cancel", "12346")
	rar.denial([cancel_12345], "procurement_contract", "cancel", "12346") == "intent.identifier_mismatch"
}

# RFC 9396 §2: rights are the union over objects, each the product of its own fields. The verb of
# one object and the identifier of another do not make a grant.
test_fields_are_never_combined_across_objects if {
	details := [
		{"type": "procurement_contract", "actions": ["cancel"], "identifier": "99999"},
		{"type": "procurement_contract", "actions": ["pause"], "identifier": "12345"},
	]
	not rar.grants(details, "procurement_contract", "cancel", "12345")
	rar.denial(details, "procurement_contract", "cancel", "12345") == "intent.identifier_mismatch"
}

test_objects_of_other_types_are_ignored if {
	details := [{"type": "procurement_order", "actions": ["cancel"], "identifier": "12345"}]
	rar.denial(details, "procurement_contract", "cancel", "12345") == "intent.action_not_authorized"
}

test_no_details_grant_nothing if {
	rar.denial([], "procurement_contract", "cancel", "12345") == "intent.action_not_authorized"
}

# RFC 9396 §12: exact comparison, no case folding, no type coercion.
test_strings_compare_exactly if {
	rar.denial([cancel_12345], "procurement_contract", "Cancel", "12345") == "intent.action_not_authorized"
	rar.denial([cancel_12345], "Procurement_Contract", "cancel", "12345") == "intent.action_not_authorized"
	rar.denial([cancel_12345], "procurement_contract", "cancel", "012345") == "intent.identifier_mismatch"
}

test_a_numeric_identifier_is_not_the_string if {
	details := [object.union(cancel_12345, {"identifier": 12345})]
	rar.denial(details, "procurement_contract", "cancel", "12345") == "intent.identifier_mismatch"
}

test_an_object_without_identifier_does_not_name_the_resource if {
	details := [json.remove(cancel_12345, ["identifier"])]
	rar.denial(details, "procurement_contract", "cancel", "12345") == "intent.identifier_mismatch"
}

test_a_missing_resource_id_is_never_named if {
	not rar.grants([object.union(cancel_12345, {"identifier": null})], "procurement_contract", "cancel", null)
}

test_actions_must_be_an_array if {
	details := [object.union(cancel_12345, {"actions": "cancel"})]
	rar.denial(details, "procurement_contract", "cancel", "12345") == "intent.action_not_authorized"
	object_actions := [object.union(cancel_12345, {"actions": {"verb": "cancel"}})]
	rar.denial(object_actions, "procurement_contract", "cancel", "12345") == "intent.action_not_authorized"
}

test_an_object_with_constraints_not_understood_grants_nothing if {
	details := [object.union(cancel_12345, {"locations": ["https://procurement.example"]})]
	not rar.grants(details, "procurement_contract", "cancel", "12345")
	rar.denial(details, "procurement_contract", "cancel", "12345") == "intent.constraint_unsupported"
}

test_denial_is_undefined_when_granted if {
	not rar.denial([cancel_12345], "procurement_contract", "cancel", "12345")
}
