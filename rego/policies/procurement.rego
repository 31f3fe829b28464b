# Procurement: contracts, purchase orders and documents. Reading needs the procurement role and the
# procurement:read scope; changing needs procurement:write. Changing a contract or placing an order
# also needs the user's intent (RFC 9396 authorization_details) to cover that exact call — that verb,
# on that contract, for that vendor, up to that amount — so a drifting agent cannot act beyond what
# the user asked (rego/lib/intent.rego).
package mandate.policies.procurement

import data.mandate.lib.claims
import data.mandate.lib.intent

# Role and scope per action. An action missing here is denied (action.unknown).
requirements := {
	"procurement.contract.list": {"role": "procurement", "scope": "procurement:read"},
	"procurement.contract.read": {"role": "procurement", "scope": "procurement:read"},
	"procurement.contract.watch": {"role": "procurement", "scope": "procurement:read"},
	"procurement.contract.cancel": {"role": "procurement", "scope": "procurement:write"},
	"procurement.contract.pause": {"role": "procurement", "scope": "procurement:write"},
	"procurement.contract.terminate": {"role": "procurement", "scope": "procurement:write"},
	"procurement.contract.bulk_cancel": {"role": "procurement", "scope": "procurement:write"},
	"procurement.purchase_order.create": {"role": "procurement", "scope": "procurement:write"},
	"procurement.document.upload": {"role": "procurement", "scope": "procurement:write"},
	"procurement.document.download": {"role": "procurement", "scope": "procurement:read"},
}

# The authorization_details types this API defines, and the typed constraints each may carry (in
# the order a denial reports them). Any other type in a token makes its intent unusable here.
intent_types := {
	"procurement_contract": {"constraints": [{"field": "vendor", "equals": "vendor"}]},
	"procurement_document": {"constraints": []},
	"purchase_order": {"constraints": [
		{"field": "vendor", "equals": "vendor"},
		{"field": "currency", "equals": "currency"},
		{"field": "max_amount", "at_least": "amount"},
	]},
}

# This API's location, as an authorization server names it in `locations` (its token audience).
location := "https://procurement.demo.mandate"

# Actions bound to the user's intent: the type and verb they need. Every other action needs none.
intent_actions := {
	"procurement.contract.cancel": {"type": "procurement_contract", "verb": "cancel"},
	"procurement.contract.pause": {"type": "procurement_contract", "verb": "pause"},
	"procurement.contract.terminate": {"type": "procurement_contract", "verb": "terminate"},
	"procurement.contract.bulk_cancel": {"type": "procurement_contract", "verb": "cancel"},
	"procurement.purchase_order.create": {"type": "purchase_order", "verb": "create"},
}

# The attributes each action carries, from the query and body fields routes.yaml exposes. A cancel
# or pause carries none: its contract id is the identifier, and the contract's vendor is the
# backend's to know, so an intent naming the contract vouches for it (see rego/lib/intent.rego).
carried := {"vendor": input.request.query_params.vendor} if input.action == "procurement.contract.bulk_cancel"

carried := {
	"vendor": input.request.body.vendor,
	"amount": input.request.body.amount,
	"currency": input.request.body.currency,
} if input.action == "procurement.purchase_order.create"

# Separate rules rather than an else chain: a value left undefined (the route exposes no body) must
# leave `carried` undefined, never fall through to "carries nothing".
carried := {} if not input.action in {"procurement.contract.bulk_cancel", "procurement.purchase_order.create"}

intent_request := {
	"type": intent_actions[input.action].type,
	"action": intent_actions[input.action].verb,
	"identifier": input.resource.id,
	"location": location,
	"attributes": carried,
}

default allow := false

allow if {
	count(claims.unmet(requirements[input.action], input.user, input.token)) == 0
	intent_satisfied
}

intent_satisfied if not intent_actions[input.action]

intent_satisfied if intent.grants(input.token.authorization_details, intent_types, intent_request)

reasons contains "action.unknown" if not requirements[input.action]

reasons contains reason if {
	some reason in claims.unmet(requirements[input.action], input.user, input.token)
}

reasons contains reason if {
	not intent_satisfied
	reason := intent.denial(input.token.authorization_details, intent_types, intent_request)
}

# The route did not expose what the action needs (routes.yaml `query`/`body`): deny, never guess.
reasons contains "intent.attributes_unavailable" if {
	intent_actions[input.action]
	not intent_request
}

decision := {"allow": allow, "reasons": sort(reasons)}
