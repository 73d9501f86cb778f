#!/usr/bin/env bash
# Installs the npm package axe-core (the accessibility rules engine) for the portal's
# browser tests (web/browser_a11y_test.go) when it is missing, and prints the variable that
# points the tests at its script:
#
#	eval "$(.ci/axe.sh)"     # sets GUICHET_TEST_AXE
#
# Idempotent: with the script already in the cache it installs nothing. The version is
# pinned so every run checks the same rules. Progress goes to stderr, the export line alone
# to stdout. Without npm or the registry it prints nothing and the axe checks skip.
set -euo pipefail

version="${AXE_VERSION:-4.10.3}"
log() { printf '== axe-core: %s\n' "$*" >&2; }

if [ -n "${GUICHET_TEST_AXE:-}" ] && [ -f "${GUICHET_TEST_AXE}" ]; then
	echo "export GUICHET_TEST_AXE='$GUICHET_TEST_AXE'"; exit 0
fi
cache="${GUICHET_AXE_CACHE:-}"
if [ -z "$cache" ]; then
	if [ -w /var/cache ] || [ -d /var/cache/guichet-ci ]; then cache=/var/cache/guichet-ci/axe-$version
	else cache="${XDG_CACHE_HOME:-$HOME/.cache}/guichet-ci/axe-$version"; fi
fi
js="$cache/node_modules/axe-core/axe.min.js"
if [ ! -f "$js" ]; then
	if ! command -v npm >/dev/null 2>&1; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
			log "installing npm"
			export DEBIAN_FRONTEND=noninteractive
			timeout 300 apt-get update -qq >&2 || true
			timeout 600 apt-get install -y -qq --no-install-recommends npm >&2 || { log "npm could not be installed"; exit 0; }
		else
			log "no npm: axe checks will skip"; exit 0
		fi
	fi
	mkdir -p "$cache"
	log "installing axe-core@$version into $cache"
	if ! timeout 300 npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error "axe-core@$version" >&2; then
		log "npm install failed: axe checks will skip"; exit 0
	fi
fi
[ -f "$js" ] || { log "no $js after install"; exit 0; }
log "$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$cache/node_modules/axe-core/package.json" | head -1) at $js"
echo "export GUICHET_TEST_AXE='$js'"
