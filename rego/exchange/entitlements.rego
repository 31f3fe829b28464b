# What each role of the corporate identity provider entitles a user to pass on to an agent, per
# backend (routes.yaml `backends[].name`). The token exchange grants the intersection of this, the
# agent's ceiling (routes.yaml `agents[].ceiling`) and what was requested: delegated, never amplified.
#
# Roles come from the subject token's `roles` and `groups` claims (identity_providers[].user_claims).
# A detail entry grants requests of its `type` whose `actions` are all listed; any other field of the
# entry must be matched exactly by the request.
package mandate.exchange.entitlements

roles := {
	"procurement": {"procurement": {
		"scopes": ["procurement:read", "procurement:write"],
		"authorization_details": [
			{"type": "procurement_contract", "actions": ["read", "cancel", "pause", "watch"]},
			{"type": "procurement_document", "actions": ["upload", "download"]},
			{"type": "purchase_order", "actions": ["create"]},
		],
	}},
	"support": {"crm": {
		"scopes": ["crm:read"],
		"authorization_details": [{"type": "crm_customer", "actions": ["read"]}],
	}},
	"crm_editor": {"crm": {
		"scopes": ["crm:read", "crm:write"],
		"authorization_details": [{"type": "crm_customer", "actions": ["read", "update"]}],
	}},
}
