#!/usr/bin/env bash
# Installs Debian's chromium for the portal's browser tests (web/browser_test.go) when it
# is missing, and prints the variable that points the tests at it:
#
#	eval "$(.ci/chromium.sh)"     # sets GUICHET_TEST_CHROMIUM
#
# Idempotent: with a browser already there it installs nothing. Progress goes to stderr,
# the export line alone to stdout. Without a browser (no root, no network) it prints
# nothing and the browser tests skip with a message.
set -euo pipefail

log() { printf '== chromium: %s\n' "$*" >&2; }

find_browser() {
	if [ -n "${GUICHET_TEST_CHROMIUM:-}" ] && [ -x "${GUICHET_TEST_CHROMIUM}" ]; then
		echo "$GUICHET_TEST_CHROMIUM"; return 0
	fi
	for b in /usr/bin/chromium chromium chromium-browser google-chrome; do
		if command -v "$b" >/dev/null 2>&1; then command -v "$b"; return 0; fi
	done
	return 1
}

if ! bin=$(find_browser); then
	sudo=""
	if [ "$(id -u)" != 0 ]; then
		if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else log "not root and no sudo: cannot install chromium"; exit 0; fi
	fi
	log "installing chromium"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq >&2
	$sudo apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >&2
	bin=/usr/bin/chromium
fi
log "$("$bin" --version 2>/dev/null || echo "$bin")"
echo "export GUICHET_TEST_CHROMIUM='$bin'"
