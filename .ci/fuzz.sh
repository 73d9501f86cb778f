#!/usr/bin/env bash
# Runs every Go fuzz target of the project for a short, bounded time each.
# Targets are found by `go test -list '^Fuzz'` in every package, so a new target is run
# without editing this file. The seed corpora and testdata/fuzz/ regression inputs are
# already replayed by plain `go test`; this explores beyond them.
#
#   FUZZ_TIME   time per target (default 12s)
#   FUZZ_BUDGET the whole run's ceiling in seconds (default 600): targets left when it is
#               spent are listed and skipped, so CI's time stays bounded.
# A crasher fails the run; `go test` writes it under the package's testdata/fuzz/<Target>/:
# commit it as a regression input once fixed.
set -euo pipefail
cd "$(dirname "$0")/.."

per="${FUZZ_TIME:-12s}"
budget="${FUZZ_BUDGET:-600}"
start=$(date +%s)
failed=()
ran=0
skipped=()

for pkg in $(go list ./...); do
	targets=$(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true)
	for t in $targets; do
		if (( $(date +%s) - start > budget )); then
			skipped+=("$pkg.$t")
			continue
		fi
		printf '== fuzz %s %s (%s)\n' "$pkg" "$t" "$per"
		# The corpus the fuzzer grows stays in Go's cache ($GOCACHE/fuzz), between runs on
		# one machine, without touching the repository.
		if ! go test "$pkg" -run '^$' -fuzz "^${t}\$" -fuzztime "$per" -parallel 2 2>&1 | tail -n 20; then
			failed+=("$pkg.$t")
		fi
		ran=$((ran + 1))
	done
done

printf '== fuzz: %d targets run in %ds\n' "$ran" $(( $(date +%s) - start ))
if (( ${#skipped[@]} > 0 )); then
	printf '== fuzz: budget spent, not run: %s\n' "${skipped[*]}"
fi
if (( ${#failed[@]} > 0 )); then
	printf '== fuzz: FAILED: %s\n' "${failed[*]}"
	exit 1
fi
