//go:build !race

package main

// raceDetector reports whether the tests run under the race detector,
// which slows Go code down several times (the pure-Go SQLite most).
const raceDetector = false
