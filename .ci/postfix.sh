#!/usr/bin/env bash
# Installs Debian's Postfix for the field test (internal/fieldtest) and prints the variable
# that turns it on:
#
#	eval "$(.ci/postfix.sh)"     # sets GUICHET_TEST_POSTFIX=1
#
# The package is installed with debconf's "No configuration": the system instance has no
# main.cf and is neither configured nor started, and nothing listens on port 25. The test
# runs a private instance of its own (its own config_directory and queue_directory, smtpd
# on a free loopback port) that it starts and stops itself, so it never touches the
# machine's mail and can run twice. The script also creates the unprivileged users the
# test needs: guichet (the pipe transport's user=guichet) and guichetvmail (owner of the
# test's local mailboxes). Progress goes to stderr, the export line alone to stdout.
set -euo pipefail

log() { printf '== postfix: %s\n' "$*" >&2; }

if ! command -v postconf >/dev/null 2>&1 || [ ! -x /usr/lib/postfix/sbin/master ]; then
	log "installing postfix (No configuration)"
	export DEBIAN_FRONTEND=noninteractive
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends postfix openssl >&2
	# Should the package have started a system instance anyway, stop it: the test runs its own.
	if command -v systemctl >/dev/null 2>&1; then systemctl disable --now postfix >/dev/null 2>&1 || true; fi
fi

for u in guichet guichetvmail; do
	if ! id "$u" >/dev/null 2>&1; then
		log "creating system user $u"
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$u"
	fi
done

# The private instance needs these; fail here, with a message, rather than in the test.
for f in /usr/lib/postfix/sbin/master /usr/share/postfix/master.cf.dist /usr/sbin/postmap /usr/sbin/postqueue; do
	if [ ! -e "$f" ]; then
		log "missing $f after installing postfix"
		exit 1
	fi
done
log "$(postconf -d mail_version 2>/dev/null)"
echo "export GUICHET_TEST_POSTFIX=1"
