# CRM: customer records. Support staff read customers of their own region; only CRM editors update.
package mandate.policies.crm

import data.mandate.lib.claims

# Role and scope per action. An action missing here is denied (action.unknown).
requirements := {
	"crm.customer.read": {"role": "support", "scope": "crm:read"},
	"crm.customer.update": {"role": "crm_editor", "scope": "crm:write"},
}

# Actions confined to the user's region: the {region} in the path must equal the user's `region`
# attribute exactly.
region_bound := {"crm.customer.read"}

default allow := false

allow if {
	count(claims.unmet(requirements[input.action], input.user, input.token)) == 0
	region_satisfied
}

region_satisfied if not input.action in region_bound

region_satisfied if {
	is_string(input.user.attributes.region)
	input.request.params.region == input.user.attributes.region
}

reasons contains "action.unknown" if not requirements[input.action]

reasons contains reason if {
	some reason in claims.unmet(requirements[input.action], input.user, input.token)
}

reasons contains "region.mismatch" if not region_satisfied

decision := {"allow": allow, "reasons": sort(reasons)}
