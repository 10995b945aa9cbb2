package calling

import "errors"

// SetChunkSize makes refreshes work in chunks of n agents until the
// returned function restores the size. Tests that call it must not run in
// parallel with others of the package.
func SetChunkSize(n int) (restore func()) {
	old := chunkSize
	chunkSize = n
	return func() { chunkSize = old }
}

// LateOutcome returns an *OutcomeUnknownError whose COMMIT's answer is
// only late, the function that makes it come (committed or not), and one
// that reports whether the answer was taken.
func LateOutcome(action string) (err error, answer func(committed bool), taken func() bool) {
	landed := make(chan bool, 1)
	return &OutcomeUnknownError{Action: action, Err: errors.New("late"), landed: landed},
		func(c bool) { landed <- c }, func() bool { return len(landed) == 0 }
}

// EndpointChanged is (*Service).endpointChanged: what a command tells the
// dispatchers after it changed the endpoint id with the outcome err.
func (s *Service) EndpointChanged(id int64, err error) { s.endpointChanged(id, err) }
