//go:build race

package webhooks

// raceDetector is true when the tests run under the race detector, which
// makes every attempt several times slower: promises in time are logged,
// not asserted, there.
const raceDetector = true
