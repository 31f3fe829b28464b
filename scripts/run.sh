#!/usr/bin/env bash
# Entry point of every npm script: set up the pinned toolchain, then run one step with it.
# Usage: bash scripts/run.sh <setup|start|test|demo|bench|bench-ab|bench-verify|mandate> [args...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$ROOT"
step=${1:-setup}
shift || true
case "$step" in
  setup) ;;
  start) exec node gateway/main.ts serve --config routes.yaml --demo "$@" ;;
  test) exec bash scripts/test.sh "$@" ;;
  demo) exec node scripts/demo.ts "$@" ;;
  bench) exec node scripts/bench.ts "$@" ;;
  bench-ab) exec node scripts/bench-ab.ts "$@" ;;
  bench-verify) exec node scripts/bench-verify.ts "$@" ;;
  mandate) exec node gateway/main.ts "$@" ;;
  *) echo "unknown step: $step" >&2; exit 2 ;;
esac
