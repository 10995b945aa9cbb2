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
// only late, and the function that makes it come (committed or not); it
// returns once the answer was taken.
func LateOutcome(action string) (err error, answer func(committed bool)) {
	landed := make(chan bool)
	return &OutcomeUnknownError{Action: action, Err: errors.New("late"), landed: landed}, func(c bool) { landed <- c }
}

// EndpointChanged is (*Service).endpointChanged: what a command tells the
// dispatchers after it changed the endpoint id with the outcome err.
func (s *Service) EndpointChanged(id int64, err error) { s.endpointChanged(id, err) }
