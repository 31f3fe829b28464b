#!/usr/bin/env bash
# Everything `npm test` checks, in order of cost. Runs with the toolchain from scripts/toolchain.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n== %s\n' "$*"; }

step 'typecheck (tsc --noEmit)'
node node_modules/typescript/bin/tsc --noEmit -p tsconfig.json

step 'lint and format check (biome ci)'
node_modules/.bin/biome ci --reporter=summary .

step 'policy: opa fmt --fail, opa check --strict, opa test'
opa fmt --fail --list rego
opa check --strict rego
opa test rego --format=pretty --count=1 | tail -n 3

step 'unit and end-to-end tests (node:test)'
node --test --test-reporter=spec --test-concurrency=2 'test/unit/**/*.test.ts' 'test/e2e/**/*.test.ts'
