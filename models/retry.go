package models

import (
	"context"
	"math/rand/v2"
	"time"
)

// MaxLockAttempts bounds the attempts of RetryLocks.
const MaxLockAttempts = 10

// RetryLocks runs fn, a transaction or a single statement, and runs it
// again while it fails with a lock fault (Retriable: a lost deadlock,
// MySQL 1213; a lock wait timeout, 1205; SQLite BUSY or LOCKED): at most
// MaxLockAttempts times in all, pausing between attempts, and not past
// ctx's deadline. The loser of a deadlock is rolled back whole, so fn
// starts over; it must not keep state from a failed attempt. It returns
// fn's last error, or nil.
func RetryLocks(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !Retriable(err) || attempt == MaxLockAttempts || !PauseBeforeRetry(ctx, attempt) {
			return err
		}
	}
}

// PauseBeforeRetry waits before the attempt after attempt, up to 10 ms times
// attempt with jitter, so that two transactions that deadlocked do not
// meet again at once. It reports false when ctx ends first.
func PauseBeforeRetry(ctx context.Context, attempt int) bool {
	d := time.Duration(rand.Int64N(int64(10 * time.Millisecond * time.Duration(attempt))))
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}
