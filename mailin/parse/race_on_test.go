//go:build race

package parse

// raceSlowdown is how much slower the race detector makes the parser's loops: the timed
// hostile-input tests scale their deadlines by it. Measured on the slowest input of
// TestVisibleTextHostileTails: 0.25 s without it, 6 s with it on a quiet machine, 22 s
// in CI beside the other packages' race tests (over the 20 s deadline).
const raceSlowdown = 25
