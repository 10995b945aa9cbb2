//go:build !linux

package faultdb

import "time"

// WaitStopped returns at once where a thread's state cannot be read
// (no /proc): the stop then takes effect when the kernel gets to it.
func WaitStopped(pid int, within time.Duration) error { return nil }
