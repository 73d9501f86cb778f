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
log=$(mktemp)
trap 'rm -f "$log"' EXIT
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
		for try in 1 2; do
			if go test "$pkg" -run '^$' -fuzz "^${t}\$" -fuzztime "$per" -parallel 2 >"$log" 2>&1; then
				tail -n 20 "$log"
				break
			fi
			tail -n 20 "$log"
			# Go 1.26's fuzzing coordinator can report its own -fuzztime deadline as a
			# failure ("context deadline exceeded", no input written: go.dev/issue/75804,
			# fixed in Go 1.27). That alone is tried once more; anything else, or an input
			# written to testdata/fuzz, fails the run.
			if grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$log" && (( try == 1 )); then
				printf '== fuzz %s %s: the fuzzer stopped on its own deadline (go.dev/issue/75804), once more\n' "$pkg" "$t"
				continue
			fi
			failed+=("$pkg.$t")
			break
		done
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
