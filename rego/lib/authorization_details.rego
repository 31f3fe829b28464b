# The user's intent as signed in the token: RFC 9396 `authorization_details`.
#
# RFC 9396 §2: one object grants the product of its fields, and a token's rights are the union over
# its objects. So every dimension must match within ONE object: fields are never combined across
# objects (object A's action with object B's identifier). Objects of other types are ignored.
# Strings compare exactly (§12: no case folding, no normalisation).
package mandate.lib.authorization_details

# The fields an object may carry for `grants` to evaluate it. An object that also constrains
# something else (e.g. `locations`, `datatypes`) limits the grant in a way this check cannot verify,
# so it grants nothing here: ignoring the field would widen the user's intent.
understood_fields := {"type", "actions", "identifier"}

# One object of `type` lists `verb` in its `actions`, names exactly `identifier`, and constrains
# nothing else.
grants(details, type, verb, identifier) if {
	some detail in details
	names(detail, type, verb, identifier)
	every field, _ in detail {
		field in understood_fields
	}
}

# Why `grants` failed, most fundamental first. Undefined when it did not fail.
#   intent.action_not_authorized   no object of `type` lists `verb`
#   intent.identifier_mismatch     some do, but none of them names `identifier` (drift)
#   intent.constraint_unsupported  the one that does also constrains a field not understood
denial(details, type, verb, identifier) := "intent.action_not_authorized" if {
	not any_permits(details, type, verb)
} else := "intent.identifier_mismatch" if {
	not any_names(details, type, verb, identifier)
} else := "intent.constraint_unsupported" if {
	not grants(details, type, verb, identifier)
}

any_permits(details, type, verb) if {
	some detail in details
	permits(detail, type, verb)
}

any_names(details, type, verb, identifier) if {
	some detail in details
	names(detail, type, verb, identifier)
}

permits(detail, type, verb) if {
	detail.type == type
	is_array(detail.actions)
	verb in detail.actions
}

names(detail, type, verb, identifier) if {
	permits(detail, type, verb)
	is_string(identifier)
	detail.identifier == identifier
}
