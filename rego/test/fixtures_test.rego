# Policy inputs for the Rego tests, shaped as gateway/pipeline/3-authorize/policy-input.ts builds
# them (version 1). Tests derive variants with object.union, which merges objects and replaces
# everything else.
package mandate.test.fixtures

# Alice, a procurement officer, asked her agent to cancel contract 12345.
alice_cancel := {
	"version": 1,
	"time": {"unix_ms": 1767225600000, "iso": "2026-01-01T00:00:00.000Z"},
	"user": {
		"id": "alice",
		"issuer": "https://mandate.dev.local",
		"attributes": {"roles": ["procurement"], "region": "emea"},
	},
	"agent": {"sub": "procurement-assistant", "iss": "https://agents.dev.local"},
	"agent_chain": [{"sub": "procurement-assistant", "iss": "https://agents.dev.local"}],
	"token": {
		"jti": "jti-alice-1",
		"scopes": ["procurement:read", "procurement:write"],
		"authorization_details": [{"type": "procurement_contract", "actions": ["cancel"], "identifier": "12345"}],
		"txn": "txn-alice-1",
		"intent": "Cancel contract 12345, the supplier went bankrupt",
		"client_id": "procurement-assistant",
		"issued_at": 1767225500,
		"expires_at": 1767226100,
	},
	"action": "procurement.contract.cancel",
	"resource": {"type": "contract", "id": "12345"},
	"request": {
		"method": "POST",
		"path": "/procurement/contracts/12345/cancel",
		"query": "",
		"backend": "procurement",
		"params": {"contract_id": "12345"},
		"query_params": {},
		"body": null,
	},
	"route": {"policy": "procurement", "template": "/procurement/contracts/{contract_id}/cancel", "tier": "execute"},
}

# Bob, a support agent in EMEA, asked his agent to look up customer 42.
bob_read := {
	"version": 1,
	"time": {"unix_ms": 1767225600000, "iso": "2026-01-01T00:00:00.000Z"},
	"user": {
		"id": "bob",
		"issuer": "https://mandate.dev.local",
		"attributes": {"roles": ["support"], "region": "emea"},
	},
	"agent": {"sub": "support-assistant", "iss": null},
	"agent_chain": [{"sub": "support-assistant", "iss": null}],
	"token": {
		"jti": "jti-bob-1",
		"scopes": ["crm:read"],
		"authorization_details": [],
		"txn": null,
		"intent": null,
		"client_id": null,
		"issued_at": 1767225500,
		"expires_at": 1767226100,
	},
	"action": "crm.customer.read",
	"resource": {"type": "customer", "id": "42"},
	"request": {
		"method": "GET",
		"path": "/crm/regions/emea/customers/42",
		"query": "",
		"backend": "crm",
		"params": {"region": "emea", "customer_id": "42"},
		"query_params": {},
		"body": null,
	},
	"route": {"policy": "crm", "template": "/crm/regions/{region}/customers/{customer_id}", "tier": "read"},
}
