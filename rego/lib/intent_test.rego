package mandate.lib.intent_test

import data.mandate.lib.intent

types := {
	"procurement_contract": {"constraints": [{"field": "vendor", "equals": "vendor"}]},
	"purchase_order": {"constraints": [
		{"field": "vendor", "equals": "vendor"},
		{"field": "currency", "equals": "currency"},
		{"field": "max_amount", "at_least": "amount"},
	]},
}

cancel_12345 := {"type": "procurement_contract", "actions": ["cancel"], "identifier": "12345", "vendor": "X"}

po_x := {"type": "purchase_order", "actions": ["create"], "vendor": "X", "max_amount": 5000, "currency": "EUR"}

alice := [cancel_12345, po_x]

cancel(id) := {"type": "procurement_contract", "action": "cancel", "identifier": id, "location": null, "attributes": {}}

order(attributes) := {"type": "purchase_order", "action": "create", "identifier": null, "location": null, "attributes": attributes}

# The verdict on one request: "granted" or the reason it was not.
verdict(details, request) := "granted" if intent.grants(details, types, request)

else := intent.denial(details, types, request)

test_grants_the_named_verb_on_the_named_resource if {
	verdict(alice, cancel("12345")) == "granted"
}

test_other_identifier_is_drift if {
	verdict(alice, cancel("12346")) == "intent.identifier_mismatch"
}

test_other_verb_is_not_granted if {
	verdict(alice, object.union(cancel("12345"), {"action": "pause"})) == "intent.action_not_authorized"
}

# "Cancel every vendor-X contract": the intent names one contract, not the relationship.
test_a_collection_wide_call_is_not_granted_by_an_object_naming_one_resource if {
	bulk := object.union(cancel(null), {"attributes": {"vendor": "X"}})
	verdict(alice, bulk) == "intent.identifier_mismatch"
}

test_an_object_without_identifier_grants_the_collection_wide_call_only if {
	all_of_x := [json.remove(cancel_12345, ["identifier"])]
	verdict(all_of_x, object.union(cancel(null), {"attributes": {"vendor": "X"}})) == "granted"
	verdict(all_of_x, object.union(cancel(null), {"attributes": {"vendor": "Y"}})) == "intent.vendor_mismatch"
	verdict(all_of_x, cancel("12345")) == "intent.identifier_mismatch"
}

# The cancel route carries no vendor: the identifier pins the contract, whose vendor is the backend's.
test_a_constraint_on_an_attribute_the_action_does_not_carry_needs_the_identifier if {
	verdict(alice, cancel("12345")) == "granted"
	no_vendor_key := object.union(cancel(null), {"attributes": {}})
	verdict([json.remove(cancel_12345, ["identifier"])], no_vendor_key) == "intent.vendor_mismatch"
}

test_purchase_order_within_the_intent if {
	verdict(alice, order({"vendor": "X", "amount": 4999.99, "currency": "EUR"})) == "granted"
	verdict(alice, order({"vendor": "X", "amount": 5000, "currency": "EUR"})) == "granted"
}

test_purchase_order_above_the_maximum if {
	verdict(alice, order({"vendor": "X", "amount": 5000.01, "currency": "EUR"})) == "intent.amount_exceeds"
}

test_purchase_order_for_another_vendor if {
	verdict(alice, order({"vendor": "Y", "amount": 10, "currency": "EUR"})) == "intent.vendor_mismatch"
}

test_purchase_order_in_another_currency if {
	verdict(alice, order({"vendor": "X", "amount": 10, "currency": "USD"})) == "intent.currency_mismatch"
}

# Constraints report in the type's order: the currency is wrong before the amount is compared.
test_the_first_failing_constraint_is_reported if {
	verdict(alice, order({"vendor": "X", "amount": 9000, "currency": "USD"})) == "intent.currency_mismatch"
}

# Rego orders null and strings around numbers: neither may pass for an amount within the maximum.
test_an_amount_that_is_not_a_number_is_never_within_the_maximum if {
	verdict(alice, order({"vendor": "X", "amount": null, "currency": "EUR"})) == "intent.amount_exceeds"
	verdict(alice, order({"vendor": "X", "amount": "10", "currency": "EUR"})) == "intent.amount_exceeds"
	verdict(alice, order({"vendor": "X", "amount": [], "currency": "EUR"})) == "intent.amount_exceeds"
}

test_a_missing_vendor_is_not_any_vendor if {
	verdict(alice, order({"vendor": null, "amount": 10, "currency": "EUR"})) == "intent.vendor_mismatch"
}

test_a_maximum_that_is_not_a_number_grants_nothing if {
	details := [object.union(po_x, {"max_amount": "5000"})]
	verdict(details, order({"vendor": "X", "amount": 10, "currency": "EUR"})) == "intent.amount_exceeds"
}

# RFC 9396 §2: rights are the union over objects, each the product of its own fields.
test_fields_are_never_combined_across_objects if {
	details := [
		{"type": "procurement_contract", "actions": ["cancel"], "identifier": "99999"},
		{"type": "procurement_contract", "actions": ["pause"], "identifier": "12345"},
	]
	verdict(details, cancel("12345")) == "intent.identifier_mismatch"
	split := [
		{"type": "purchase_order", "actions": ["create"], "vendor": "X", "max_amount": 100, "currency": "EUR"},
		{"type": "purchase_order", "actions": ["create"], "vendor": "Y", "max_amount": 9000, "currency": "EUR"},
	]
	verdict(split, order({"vendor": "X", "amount": 5000, "currency": "EUR"})) == "intent.amount_exceeds"
}

test_any_one_object_may_grant if {
	details := [object.union(po_x, {"vendor": "Y"}), cancel_12345, po_x]
	verdict(details, order({"vendor": "X", "amount": 10, "currency": "EUR"})) == "granted"
}

test_the_object_that_matched_most_dimensions_is_reported if {
	details := [
		{"type": "procurement_contract", "actions": ["pause"], "identifier": "12345"},
		{"type": "procurement_contract", "actions": ["cancel"], "identifier": "12345", "vendor": "Y"},
	]
	bulk_on_12345 := object.union(cancel("12345"), {"attributes": {"vendor": "X"}})
	verdict(details, bulk_on_12345) == "intent.vendor_mismatch"
}

test_no_details_grant_nothing if {
	verdict([], cancel("12345")) == "intent.action_not_authorized"
}

# RFC 9396 §12: exact comparison, no case folding, no type coercion.
test_strings_compare_exactly if {
	verdict(alice, object.union(cancel("12345"), {"action": "Cancel"})) == "intent.action_not_authorized"
	verdict(alice, cancel("012345")) == "intent.identifier_mismatch"
	verdict(alice, order({"vendor": "x", "amount": 10, "currency": "EUR"})) == "intent.vendor_mismatch"
	verdict(alice, order({"vendor": "X ", "amount": 10, "currency": "EUR"})) == "intent.vendor_mismatch"
}

test_a_numeric_identifier_is_not_the_string if {
	verdict([object.union(cancel_12345, {"identifier": 12345})], cancel("12345")) == "intent.identifier_mismatch"
}

test_actions_must_be_an_array if {
	verdict([object.union(cancel_12345, {"actions": "cancel"})], cancel("12345")) == "intent.action_not_authorized"
	verdict([object.union(cancel_12345, {"actions": {"verb": "cancel"}})], cancel("12345")) == "intent.action_not_authorized"
	verdict([json.remove(cancel_12345, ["actions"])], cancel("12345")) == "intent.action_not_authorized"
}

test_locations_when_listed_must_name_the_api if {
	here := "https://procurement.example"
	at := [object.union(cancel_12345, {"locations": [here]})]
	verdict(at, object.union(cancel("12345"), {"location": here})) == "granted"
	verdict(at, object.union(cancel("12345"), {"location": "https://crm.example"})) == "intent.location_mismatch"
	verdict(at, cancel("12345")) == "intent.location_mismatch"
	verdict([object.union(cancel_12345, {"locations": here})], object.union(cancel("12345"), {"location": here})) == "intent.location_mismatch"
}

# STANDARDS GW-RAR 2 (mirrors RFC 9396 §5): what cannot be judged makes the intent unusable.
test_an_object_of_an_unknown_type_denies if {
	verdict(array.concat(alice, [{"type": "crm_customer", "actions": ["read"]}]), cancel("12345")) == "intent.type_unknown"
	verdict(array.concat(alice, ["cancel 12345"]), cancel("12345")) == "intent.type_unknown"
	verdict(array.concat(alice, [{"actions": ["cancel"]}]), cancel("12345")) == "intent.type_unknown"
}

test_a_request_of_a_type_the_policy_does_not_define_denies if {
	verdict(alice, object.union(cancel("12345"), {"type": "Procurement_Contract"})) == "intent.type_unknown"
}

test_an_object_with_a_field_its_type_does_not_define_denies if {
	verdict([object.union(cancel_12345, {"max_amount": 10})], cancel("12345")) == "intent.constraint_unsupported"
	verdict([object.union(cancel_12345, {"datatypes": ["pii"]})], cancel("12345")) == "intent.constraint_unsupported"
}

test_denial_is_undefined_when_granted if {
	not intent.denial(alice, types, cancel("12345"))
}
