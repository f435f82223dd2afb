//go:build race

package berth_test

const raceEnabled = true
