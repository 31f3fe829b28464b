# Sourced by scripts/toolchain.sh. The auditor page's browser tests (test/e2e/auditor-page.test.ts)
# drive Debian's headless Chromium through playwright-core, which downloads no browser of its own.

# Installs Debian's `chromium` package when no `chromium` is on PATH; one `command -v` when it is.
ensure_chromium() {
  if command -v chromium >/dev/null 2>&1; then
    return 0
  fi
  local sudo=''
  if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null 2>&1; then
      say "chromium is missing and this user cannot apt-get install it: the auditor page tests will fail"
      return 0
    fi
    sudo='sudo'
  fi
  say "installing Debian's chromium with apt-get (headless browser for the auditor page tests)"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
}
