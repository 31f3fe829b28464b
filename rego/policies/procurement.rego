# Procurement: contracts and their documents. Reading needs the procurement role and the
# procurement:read scope; changing needs procurement:write. Cancelling or pausing a contract also
# needs the user's intent (RFC 9396 authorization_details) to name that verb on that contract, so a
# drifting agent cannot cancel a contract the user never mentioned.
package mandate.policies.procurement

import data.mandate.lib.authorization_details
import data.mandate.lib.claims

# Role and scope per action. An action missing here is denied (action.unknown).
requirements := {
	"procurement.contract.list": {"role": "procurement", "scope": "procurement:read"},
	"procurement.contract.read": {"role": "procurement", "scope": "procurement:read"},
	"procurement.contract.watch": {"role": "procurement", "scope": "procurement:read"},
	"procurement.contract.cancel": {"role": "procurement", "scope": "procurement:write"},
	"procurement.contract.pause": {"role": "procurement", "scope": "procurement:write"},
	"procurement.document.upload": {"role": "procurement", "scope": "procurement:write"},
	"procurement.document.download": {"role": "procurement", "scope": "procurement:read"},
}

# Actions that need an authorization_details object of this type granting this verb on resource.id.
intent_type := "procurement_contract"

intent_verbs := {
	"procurement.contract.cancel": "cancel",
	"procurement.contract.pause": "pause",
}

default allow := false

allow if {
	count(claims.unmet(requirements[input.action], input.user, input.token)) == 0
	intent_satisfied
}

intent_satisfied if not intent_verbs[input.action]

intent_satisfied if {
	authorization_details.grants(input.token.authorization_details, intent_type, intent_verbs[input.action], input.resource.id)
}

reasons contains "action.unknown" if not requirements[input.action]

reasons contains reason if {
	some reason in claims.unmet(requirements[input.action], input.user, input.token)
}

reasons contains reason if {
	not intent_satisfied
	reason := authorization_details.denial(input.token.authorization_details, intent_type, intent_verbs[input.action], input.resource.id)
}

decision := {"allow": allow, "reasons": sort(reasons)}
