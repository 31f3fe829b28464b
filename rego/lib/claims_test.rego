package mandate.lib.claims_test

import data.mandate.lib.claims

user := {"id": "alice", "attributes": {"roles": ["procurement", "auditor"]}}

token := {"scopes": ["procurement:read"]}

test_has_role if claims.has_role(user, "auditor")

test_role_is_compared_exactly if not claims.has_role(user, "Procurement")

test_roles_must_be_an_array if not claims.has_role({"attributes": {"roles": "procurement"}}, "procurement")

test_no_roles_attribute_has_no_role if not claims.has_role({"attributes": {}}, "procurement")

test_has_scope if claims.has_scope(token, "procurement:read")

test_scope_is_compared_exactly if not claims.has_scope(token, "procurement")

test_unmet_is_empty_when_role_and_scope_hold if {
	claims.unmet({"role": "procurement", "scope": "procurement:read"}, user, token) == set()
}

test_unmet_names_the_missing_role if {
	claims.unmet({"role": "support", "scope": "procurement:read"}, user, token) == {"role.missing:support"}
}

test_unmet_names_the_missing_scope if {
	claims.unmet({"role": "procurement", "scope": "procurement:write"}, user, token) == {"scope.missing:procurement:write"}
}

test_unmet_names_both if {
	claims.unmet({"role": "support", "scope": "crm:read"}, user, token) == {"role.missing:support", "scope.missing:crm:read"}
}

# An incomplete requirement must not read as "nothing unmet".
test_unmet_is_undefined_for_an_incomplete_requirement if {
	not claims.unmet({"role": "procurement"}, user, token)
}
