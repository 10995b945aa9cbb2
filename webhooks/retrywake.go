package webhooks

import (
	"sync"
	"time"
)

// retryWake wakes the retry lane when the earliest retry this process
// scheduled falls due, so that a retry is sent on time instead of at the
// next poll (up to PollInterval late). Retries scheduled by other
// processes are still found by polling.
type retryWake struct {
	wake func()

	mu    sync.Mutex
	timer *time.Timer
	due   time.Time // when timer fires; zero when it is not armed
}

func newRetryWake(wake func()) *retryWake { return &retryWake{wake: wake} }

// at arms the timer for due (measured against now), unless it is zero or
// the timer already fires earlier.
func (w *retryWake) at(due, now time.Time) {
	if w == nil || due.IsZero() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.due.IsZero() && !due.Before(w.due) {
		return
	}
	w.due = due
	delay := max(due.Sub(now), 0)
	if w.timer == nil {
		w.timer = time.AfterFunc(delay, w.fire)
		return
	}
	w.timer.Reset(delay)
}

func (w *retryWake) fire() {
	w.mu.Lock()
	w.due = time.Time{}
	w.mu.Unlock()
	w.wake()
}

// stop disarms the timer.
func (w *retryWake) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.due = time.Time{}
}
