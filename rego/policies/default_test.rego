package mandate.policies.default_test

import data.mandate
import data.mandate.test.fixtures

test_denies_everything if {
	inp := object.union(fixtures.alice_cancel, {"route": {"policy": "default"}})
	mandate.decision == {"allow": false, "reasons": ["policy.default_deny"]} with input as inp
}
