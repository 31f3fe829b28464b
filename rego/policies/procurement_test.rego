package mandate.policies.procurement_test

import data.mandate
import data.mandate.test.fixtures

allowed := {"allow": true, "reasons": []}

denied(reasons) := {"allow": false, "reasons": reasons}

# alice's request, retargeted at another action and contract.
request(action, id) := object.union(fixtures.alice_cancel, {"action": action, "resource": {"id": id}})

with_scopes(inp, scopes) := object.union(inp, {"token": {"scopes": scopes}})

with_roles(inp, roles) := object.union(inp, {"user": {"attributes": {"roles": roles}}})

# The demo story: the intent names cancel on 12345.
test_cancel_of_the_named_contract_is_allowed if {
	mandate.decision == allowed with input as fixtures.alice_cancel
}

test_cancel_of_another_contract_is_drift if {
	mandate.decision == denied(["intent.identifier_mismatch"]) with input as request("procurement.contract.cancel", "12346")
}

test_pause_is_not_the_intended_action if {
	mandate.decision == denied(["intent.action_not_authorized"]) with input as request("procurement.contract.pause", "12345")
}

test_pause_named_in_the_intent_is_allowed if {
	inp := object.union(request("procurement.contract.pause", "12345"), {"token": {"authorization_details": [
		{"type": "procurement_contract", "actions": ["cancel", "pause"], "identifier": "12345"},
	]}})
	mandate.decision == allowed with input as inp
}

# Terminating a contract (tier approval in routes.yaml: the gateway holds it for the user) is bound
# to the intent like any change: the verb and the contract must be the ones the user named.
test_terminate_named_in_the_intent_is_allowed if {
	inp := object.union(request("procurement.contract.terminate", "12347"), {"token": {"authorization_details": [
		{"type": "procurement_contract", "actions": ["terminate"], "identifier": "12347", "vendor": "Y"},
	]}})
	mandate.decision == allowed with input as inp
}

test_terminate_is_not_cancel if {
	mandate.decision == denied(["intent.action_not_authorized"]) with input as request("procurement.contract.terminate", "12345")
}

test_cancel_needs_the_write_scope_as_well_as_the_intent if {
	inp := with_scopes(fixtures.alice_cancel, ["procurement:read"])
	mandate.decision == denied(["scope.missing:procurement:write"]) with input as inp
}

test_cancel_needs_the_role if {
	inp := with_roles(fixtures.alice_cancel, ["support"])
	mandate.decision == denied(["role.missing:procurement"]) with input as inp
}

test_every_reason_is_reported_sorted if {
	inp := with_roles(with_scopes(request("procurement.contract.cancel", "12346"), []), [])
	mandate.decision == denied([
		"intent.identifier_mismatch",
		"role.missing:procurement",
		"scope.missing:procurement:write",
	]) with input as inp
}

test_reads_need_no_intent if {
	inp := object.union(with_scopes(request("procurement.contract.read", "777"), ["procurement:read"]), {"token": {"authorization_details": []}})
	mandate.decision == allowed with input as inp
	mandate.decision == allowed with input as object.union(inp, {"action": "procurement.contract.list", "resource": {"type": "contract_collection", "id": null}})
}

test_reads_need_the_read_scope if {
	inp := with_scopes(request("procurement.contract.list", null), ["procurement:write"])
	mandate.decision == denied(["scope.missing:procurement:read"]) with input as inp
}

test_reads_need_the_role if {
	inp := with_roles(request("procurement.contract.read", "12345"), [])
	mandate.decision == denied(["role.missing:procurement"]) with input as inp
}

test_document_upload_needs_the_write_scope if {
	upload := object.union(fixtures.alice_cancel, {"action": "procurement.document.upload", "resource": {"type": "document", "id": null}})
	mandate.decision == allowed with input as upload
	mandate.decision == denied(["scope.missing:procurement:write"]) with input as with_scopes(upload, ["procurement:read"])
	mandate.decision == denied(["role.missing:procurement"]) with input as with_roles(upload, ["support"])
}

test_document_download_needs_the_read_scope if {
	download := object.union(fixtures.alice_cancel, {"action": "procurement.document.download", "resource": {"type": "document", "id": "d-1"}})
	mandate.decision == allowed with input as download
	mandate.decision == denied(["scope.missing:procurement:read"]) with input as with_scopes(download, ["procurement:write"])
	mandate.decision == denied(["role.missing:procurement"]) with input as with_roles(download, ["support"])
}

# The events WebSocket: watching a contract is a read, authorized once when the tunnel opens.
test_watching_a_contract_needs_the_read_scope_and_the_role if {
	watch := with_scopes(request("procurement.contract.watch", "12345"), ["procurement:read"])
	mandate.decision == allowed with input as watch
	mandate.decision == denied(["scope.missing:procurement:read"]) with input as with_scopes(watch, ["procurement:write"])
	mandate.decision == denied(["role.missing:procurement"]) with input as with_roles(watch, ["support"])
}

test_unknown_action_is_denied if {
	mandate.decision == denied(["action.unknown"]) with input as request("procurement.contract.delete", "12345")
}

# The seed story's intent: cancel contract 12345 with vendor X, and a purchase order from vendor X
# of at most 5000 EUR.
alice_intent := [
	{"type": "procurement_contract", "actions": ["cancel"], "identifier": "12345", "vendor": "X"},
	{"type": "purchase_order", "actions": ["create"], "vendor": "X", "max_amount": 5000, "currency": "EUR"},
]

with_intent(inp) := object.union(inp, {"token": {"authorization_details": alice_intent}})

bulk_cancel(query_params) := with_intent(object.union(fixtures.alice_cancel, {
	"action": "procurement.contract.bulk_cancel",
	"resource": {"type": "contract_collection", "id": null},
	"request": {"path": "/procurement/contracts/cancel", "params": {}, "query_params": query_params},
}))

purchase_order(body) := with_intent(object.union(fixtures.alice_cancel, {
	"action": "procurement.purchase_order.create",
	"resource": {"type": "purchase_order", "id": null},
	"request": {"path": "/procurement/purchase-orders", "params": {}, "body": body},
}))

test_the_vendor_of_a_named_contract_is_pinned_by_its_identifier if {
	mandate.decision == allowed with input as with_intent(fixtures.alice_cancel)
	mandate.decision == denied(["intent.identifier_mismatch"]) with input as with_intent(request("procurement.contract.cancel", "12346"))
}

test_cancelling_every_contract_of_the_vendor_is_not_the_intent if {
	mandate.decision == denied(["intent.identifier_mismatch"]) with input as bulk_cancel({"vendor": "X"})
}

test_a_bulk_cancel_intent_binds_the_vendor_in_the_query if {
	all_of_x := [{"type": "procurement_contract", "actions": ["cancel"], "vendor": "X"}]
	mandate.decision == allowed with input as object.union(bulk_cancel({"vendor": "X"}), {"token": {"authorization_details": all_of_x}})
	mandate.decision == denied(["intent.vendor_mismatch"]) with input as object.union(bulk_cancel({"vendor": "Y"}), {"token": {"authorization_details": all_of_x}})
	mandate.decision == denied(["intent.vendor_mismatch"]) with input as object.union(bulk_cancel({"vendor": null}), {"token": {"authorization_details": all_of_x}})
}

test_a_purchase_order_within_the_intent_is_allowed if {
	mandate.decision == allowed with input as purchase_order({"vendor": "X", "amount": 5000, "currency": "EUR"})
	mandate.decision == allowed with input as purchase_order({"vendor": "X", "amount": 120.5, "currency": "EUR"})
}

test_a_purchase_order_beyond_the_intent_names_the_dimension if {
	mandate.decision == denied(["intent.amount_exceeds"]) with input as purchase_order({"vendor": "X", "amount": 5000.01, "currency": "EUR"})
	mandate.decision == denied(["intent.vendor_mismatch"]) with input as purchase_order({"vendor": "Y", "amount": 10, "currency": "EUR"})
	mandate.decision == denied(["intent.currency_mismatch"]) with input as purchase_order({"vendor": "X", "amount": 10, "currency": "USD"})
	mandate.decision == denied(["intent.amount_exceeds"]) with input as purchase_order({"vendor": "X", "amount": null, "currency": "EUR"})
}

test_a_purchase_order_needs_the_write_scope_as_well if {
	inp := with_scopes(purchase_order({"vendor": "X", "amount": 10, "currency": "EUR"}), ["procurement:read"])
	mandate.decision == denied(["scope.missing:procurement:write"]) with input as inp
}

# routes.yaml did not expose the body: the policy cannot see the amount, so it denies.
test_an_action_whose_attributes_are_not_exposed_is_denied if {
	mandate.decision == denied(["intent.attributes_unavailable"]) with input as purchase_order(null)
	mandate.decision == denied(["intent.attributes_unavailable"]) with input as json.remove(bulk_cancel({}), ["request/query_params"])
}

test_every_type_this_api_defines_may_share_the_token if {
	inp := object.union(fixtures.alice_cancel, {"token": {"authorization_details": array.concat(alice_intent, [{"type": "procurement_document", "actions": ["upload"]}])}})
	mandate.decision == allowed with input as inp
	unknown := object.union(fixtures.alice_cancel, {"token": {"authorization_details": array.concat(alice_intent, [{"type": "crm_customer", "actions": ["read"]}])}})
	mandate.decision == denied(["intent.type_unknown"]) with input as unknown
}
