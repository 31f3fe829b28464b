#!/usr/bin/env bash
# Compile rego/ into the Wasm bundle the gateway loads: <out>/policy.wasm and <out>/data.json, and
# <out>/input-paths.json, the parts of `input` the policies read (decisions are remembered by them).
# Entrypoints: mandate/decision (the proxy; dispatches to the route's named policy, see rego/mandate/)
# and mandate/exchange/decision (the token service, see rego/exchange/).
set -euo pipefail
out=${1:?usage: build-policy.sh <out-dir>}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
opa build --target wasm --entrypoint mandate/decision --entrypoint mandate/exchange/decision --ignore '*_test.rego' \
  --output "$tmp/bundle.tar.gz" "$root/rego"
mkdir -p "$out"
tar xzf "$tmp/bundle.tar.gz" -C "$tmp" /policy.wasm /data.json 2>/dev/null || tar xzf "$tmp/bundle.tar.gz" -C "$tmp"
node "$root/scripts/policy-input-paths.ts" "$root/rego" > "$tmp/input-paths.json"
cp "$tmp/policy.wasm" "$tmp/data.json" "$tmp/input-paths.json" "$out/"
