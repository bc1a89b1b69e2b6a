#!/bin/sh
# Installs the external programs some tests drive. Each missing one is reported once;
# the tests that need it then say plainly that they were skipped (CI requires them).
cd "$(dirname "$0")/../.." || exit 0

as_root_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
  apt-get install -y -q "$@" >/dev/null 2>&1 \
    || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null 2>&1)
}

# Debian's chromium, for tests/browser.
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the browser tests"
  as_root_apt chromium \
    || echo "could not install chromium (needs root and apt-get): browser tests will be skipped"
fi

# Node and the ActivityPub conformance tool pinned in tests/conformance/package-lock.json.
# npm ci runs only when node_modules is missing or older than the lock file.
if ! command -v npm >/dev/null 2>&1; then
  echo "installing node and npm for the conformance tests"
  as_root_apt nodejs npm \
    || echo "could not install node/npm (needs root and apt-get): conformance tests will be skipped"
fi
lock=tests/conformance/package-lock.json
installed=tests/conformance/node_modules/.package-lock.json
if command -v npm >/dev/null 2>&1 && { [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; }; then
  echo "installing the ActivityPub conformance tool (npm ci in tests/conformance)"
  (cd tests/conformance && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
    || echo "npm ci failed in tests/conformance: conformance tests will be skipped"
fi
# axe-core for the Agent app's accessibility checks, pinned in tests/tools/axe.
lock=tests/tools/axe/package-lock.json
installed=tests/tools/axe/node_modules/.package-lock.json
if command -v npm >/dev/null 2>&1 && { [ ! -f "$installed" ] || [ "$lock" -nt "$installed" ]; }; then
  echo "installing axe-core (npm ci in tests/tools/axe)"
  (cd tests/tools/axe && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null) \
    || echo "npm ci failed in tests/tools/axe: the Agent app's browser tests will be skipped"
fi
exit 0
