package calling

// SetChunkSize makes refreshes work in chunks of n agents until the
// returned function restores the size. Tests that call it must not run in
// parallel with others of the package.
func SetChunkSize(n int) (restore func()) {
	old := chunkSize
	chunkSize = n
	return func() { chunkSize = old }
}
