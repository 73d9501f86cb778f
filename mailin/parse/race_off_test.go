//go:build !race

package parse

// raceSlowdown: see race_on_test.go.
const raceSlowdown = 1
