# Intent binding: does the user's intent, as signed in the token (RFC 9396 `authorization_details`),
# cover this exact request — this action, on this resource, with these attributes?
#
# `request` describes the call in the intent's terms; the policy builds it from its input:
#
#     {"type": "purchase_order", "action": "create", "identifier": null,
#      "location": "https://procurement.example", "attributes": {"vendor": "X", "amount": 4200, "currency": "EUR"}}
#
# `types` says, per authorization_details type the policy knows, which typed constraints an object
# of that type may carry, in the order a denial reports them:
#
#     {"purchase_order": {"constraints": [
#         {"field": "vendor", "equals": "vendor"},        # object's vendor == request attribute vendor
#         {"field": "currency", "equals": "currency"},
#         {"field": "max_amount", "at_least": "amount"},  # object's max_amount >= attribute amount
#     ]}}
#
# Semantics (RFC 9396 §2, §12, and STANDARDS GW-RAR):
# - One object grants the product of its fields; the token's rights are the union over objects. So
#   every dimension an object lists must match within ONE object: never object A's action with
#   object B's identifier.
# - Strings compare exactly (no case folding, no normalisation); numbers as numbers, and a number is
#   never the string of its digits.
# - `actions` must list the verb (an object without `actions` grants no action). `locations`, when
#   listed, must contain the request's location. `identifier` must equal the request's: an object
#   naming a resource never grants a collection-wide call (identifier null), and an object naming no
#   resource never grants a call on one resource.
# - A typed constraint an object lists must hold. If the action does not carry that attribute at
#   all (no key in `attributes`), it holds only when the object also names the identifier: the
#   identifier pins the resource, whose attributes the backend knows and the gateway does not.
#   A carried attribute that the request left out is null, and null matches nothing.
# - Fail closed on what cannot be judged: an object whose type the policy does not know, or a known
#   type with a field the policy does not understand, makes the whole intent unusable.
package mandate.lib.intent

# The fields every object may carry, beyond its type's constraints.
common_fields := {"type", "actions", "locations", "identifier"}

# True when one object of `request.type` grants the whole request.
grants(details, types, request) if {
	types[request.type]
	intent_usable(details, types)
	some detail in details
	detail.type == request.type
	count(failures(detail, types[request.type], request)) == 0
}

# Why `grants` failed: the dimension that did not match, so the agent can ask the user rather than
# guess. Undefined when it did not fail. Most fundamental first:
#   intent.type_unknown            the request's type, or an object's, is not one this policy knows
#   intent.constraint_unsupported  an object carries a field its type does not define
#   intent.action_not_authorized   no object of the type lists the verb
#   intent.location_mismatch       …none of those lists this location
#   intent.identifier_mismatch     …none of those names this resource (drift)
#   intent.<field>_mismatch        …none of those has this `equals` constraint right (e.g. vendor)
#   intent.<attribute>_exceeds     …none of those allows this `at_least` value (e.g. amount)
# Among several objects, the one that matched the most dimensions (in the order above) is reported.
denial(details, types, request) := "intent.type_unknown" if {
	not types[request.type]
} else := "intent.type_unknown" if {
	some detail in details
	not known_type(detail, types)
} else := "intent.constraint_unsupported" if {
	not intent_usable(details, types)
} else := closest_denial(details, types[request.type], request) if {
	not grants(details, types, request)
}

# Every object is of a known type and carries only fields that type defines.
intent_usable(details, types) if {
	every detail in details {
		known_type(detail, types)
		every field, _ in detail {
			field in understood_fields(types[detail.type])
		}
	}
}

known_type(detail, types) if {
	is_object(detail)
	is_string(detail.type)
	types[detail.type]
}

understood_fields(spec) := common_fields | {c.field | some c in spec.constraints}

# The dimensions an object is checked on, in report order.
dimensions(spec) := array.concat(["actions", "locations", "identifier"], spec.constraints)

# Indices of the dimensions this object fails.
failures(detail, spec, request) := {i | some i, dimension in dimensions(spec); not holds(detail, dimension, request)}

closest_denial(details, spec, request) := "intent.action_not_authorized" if {
	not any_of_type(details, request.type)
} else := reason_for(dimensions(spec)[furthest]) if {
	furthest := max({min(f) |
		some detail in details
		detail.type == request.type
		f := failures(detail, spec, request)
	})
}

any_of_type(details, type) if {
	some detail in details
	detail.type == type
}

reason_for("actions") := "intent.action_not_authorized"

reason_for("locations") := "intent.location_mismatch"

reason_for("identifier") := "intent.identifier_mismatch"

reason_for(c) := concat("", ["intent.", c.field, "_mismatch"]) if c.equals

reason_for(c) := concat("", ["intent.", c.at_least, "_exceeds"]) if c.at_least

holds(detail, "actions", request) if {
	is_array(detail.actions)
	request.action in detail.actions
}

holds(detail, "locations", _) if not "locations" in object.keys(detail)

holds(detail, "locations", request) if {
	is_array(detail.locations)
	is_string(request.location)
	request.location in detail.locations
}

# Absent on either side reads as null: both absent matches, one absent does not.
holds(detail, "identifier", request) if {
	object.get(detail, "identifier", null) == object.get(request, "identifier", null)
}

holds(detail, constraint, _) if {
	is_object(constraint)
	not constraint.field in object.keys(detail)
}

holds(detail, constraint, request) if {
	is_object(constraint)
	satisfied(detail[constraint.field], constraint, request.attributes)
}

# The action does not carry the attribute: only an object that pins the resource can vouch for it.
holds(detail, constraint, request) if {
	is_object(constraint)
	constraint.field in object.keys(detail)
	is_object(request.attributes)
	not attribute_of(constraint) in object.keys(request.attributes)
	is_string(detail.identifier)
}

attribute_of(constraint) := constraint.equals

attribute_of(constraint) := constraint.at_least

satisfied(expected, constraint, attributes) if {
	value := attributes[constraint.equals]
	is_string(expected)
	is_string(value)
	value == expected
}

# Numbers compare as numbers; `is_number` first, because Rego orders null and strings before
# and after every number (`null <= 5000` would hold).
satisfied(maximum, constraint, attributes) if {
	value := attributes[constraint.at_least]
	is_number(maximum)
	is_number(value)
	value <= maximum
}
