package loadtest

import (
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
)

// peakRSS returns the process's peak resident set size in bytes (VmHWM of
// /proc/self/status), or 0 where there is none (not Linux).
func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte(" kB"))), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS returns the memory the heap does not use to the system and
// starts peakRSS over from the resident set size left (Linux: writing 5
// to /proc/self/clear_refs); elsewhere it does nothing.
func resetPeakRSS() {
	debug.FreeOSMemory()
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}
