//go:build faults

package main

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"outdial/internal/faultdb"
	"outdial/models"
)

// The dispatcher's fault tests (issue 8 §3, acceptance 3): results kept
// until recorded whatever the outage, and a paused process that lost its
// leases sends nothing and writes nothing.

// slowly answers 2xx after d: a fan-out then lasts long enough to be
// interrupted midway.
func slowly(d time.Duration) func(string, int) int {
	return func(string, int) int {
		time.Sleep(d)
		return http.StatusNoContent
	}
}

// waitAcked waits until the receivers acknowledged n requests in all.
func waitAcked(t *testing.T, n int, within time.Duration, receivers ...*hookReceiver) {
	t.Helper()
	waitUntil(t, fmt.Sprintf("%d webhooks acknowledged", n), within, func() bool {
		got := 0
		for _, rc := range receivers {
			got += rc.ackedCount()
		}
		return got >= n
	})
}

// lateDuplicates counts the requests that arrived after t for a
// webhook-id already acknowledged before them: begun before t (their
// webhook-timestamp, which the sender sets as it begins the attempt, is
// earlier: a request the sender was writing when it was paused) and
// begun at t or later.
func lateDuplicates(t time.Time, receivers ...*hookReceiver) (begunBefore, begunAfter int) {
	for _, rc := range receivers {
		reqs := rc.requests()
		sort.Slice(reqs, func(i, j int) bool { return reqs[i].Arrived.Before(reqs[j].Arrived) })
		acked := map[string]bool{}
		for _, r := range reqs {
			if r.Arrived.After(t) && acked[r.ID] {
				if ts, _ := strconv.ParseInt(r.Header.Get("webhook-timestamp"), 10, 64); ts < t.Unix() {
					begunBefore++
				} else {
					begunAfter++
				}
			}
			if r.Status/100 == 2 {
				acked[r.ID] = true
			}
		}
	}
	return begunBefore, begunAfter
}

// duplicateOrigins sorts the duplicated webhook-ids (acknowledged, then
// received again) by when their first acknowledged request was answered,
// relative to stop: more than a second before it, within the second
// before it, or after it (answered while the sender was paused, read by
// it only on SIGCONT); and counts the second requests that arrived while
// the paused process was stopped (sent by the other) and after.
func duplicateOrigins(stop, resume time.Time, receivers ...*hookReceiver) string {
	var early, lastSecond, whilePaused, againPaused, againAfter int
	var earliest time.Duration
	for _, rc := range receivers {
		reqs := rc.requests()
		sort.Slice(reqs, func(i, j int) bool { return reqs[i].Arrived.Before(reqs[j].Arrived) })
		first := map[string]hookRequest{}
		for _, r := range reqs {
			f, seen := first[r.ID]
			if !seen {
				if r.Status/100 == 2 {
					first[r.ID] = r
				}
				continue
			}
			switch d := f.Answered.Sub(stop); {
			case d < -time.Second:
				early++
				earliest = min(earliest, d)
			case d < 0:
				lastSecond++
			default:
				whilePaused++
			}
			if r.Arrived.Before(resume) {
				againPaused++
			} else {
				againAfter++
			}
		}
	}
	return fmt.Sprintf("duplicates whose first answer came >1s before SIGSTOP %d (earliest %s), in the last second before it %d, after it %d; "+
		"sent again while paused %d, after SIGCONT %d", early, earliest.Round(time.Millisecond), lastSecond, whilePaused, againPaused, againAfter)
}

// takeovers returns how many deliveries p logged as taken over from the
// process owner after their leases expired.
func takeovers(p *serverProc, owner string) int {
	n := 0
	for _, line := range p.logLines("leases taken over") {
		if !strings.Contains(line, owner) {
			continue
		}
		if i := strings.Index(line, "deliveries="); i >= 0 {
			k, _ := strconv.Atoi(strings.Fields(line[i+len("deliveries="):])[0])
			n += k
		}
	}
	return n
}

// waitAttempts waits (within) until the attempt rows of db are as many as
// the requests the receivers got.
func waitAttempts(t *testing.T, within time.Duration, db *models.DB, receivers ...*hookReceiver) {
	t.Helper()
	waitUntil(t, "an attempt row for every request", within, func() bool {
		got := tallyOf(t, db, receivers...)
		return got.attempts == int64(got.sends)
	})
}

// checkDelivered fails t unless every one of want deliveries was received,
// none lost, every request received has its attempt row, and none is
// SUPERSEDED or FAILED. An attempt that never reached the receiver (a
// connection refused or cut on a loaded machine) has a row too, so there
// may be more rows than requests: unanswered says how many rows have no
// answer, and the rows with an answer must be exactly the requests.
func checkDelivered(t *testing.T, db *models.DB, got tally, want int) (unanswered int64) {
	t.Helper()
	if got.expected != want || got.lost != 0 || got.statuses["SUCCEEDED"] != want {
		t.Errorf("%d deliveries stored, %d lost, statuses %v; want %d, all SUCCEEDED", got.expected, got.lost, got.statuses, want)
	}
	unanswered = count(t, db, "SELECT COUNT(*) FROM webhook_attempts WHERE status_code IS NULL")
	if got.attempts < int64(got.sends) {
		t.Errorf("%d attempt rows for %d requests received: results dropped", got.attempts, got.sends)
	}
	if answered := got.attempts - unanswered; answered > int64(got.sends) {
		t.Errorf("%d attempt rows with an answer for %d requests received: attempts recorded twice", answered, got.sends)
	}
	return unanswered
}

// TestFaultDatabaseKilledMidFanOut kills MariaDB (SIGKILL) while a
// 2,000-agent fan-out to three receivers is under way, keeps it down for
// 65 s (past the leases, past the ~36 s after which the writer used to
// give up its results) and restarts it. Every delivery reaches its
// receiver, every request has its attempt row (the results of the sends
// made before and during the outage were kept until recorded), and none
// is sent twice: the process claims nothing while its results wait.
func TestFaultDatabaseKilledMidFanOut(t *testing.T) {
	t.Parallel()
	const agents, outage = 2000, 65 * time.Second
	s := faultdb.Start(t)
	url := s.CreateDatabase("outdial")
	rcs := []*hookReceiver{newHookReceiver(t, slowly(20*time.Millisecond)), newHookReceiver(t, slowly(20*time.Millisecond)),
		newHookReceiver(t, slowly(20*time.Millisecond))}
	p := startTestServer(t, "server", url, "-request-timeout", "10s", "-webhook-timeout", "5s")
	db := openFor(t, url)
	o := newFaultOrg(p, agents, rcs...)
	o.mustFire(p)
	waitAcked(t, agents*len(rcs)/4, 3*time.Minute, rcs...)
	s.Kill()
	killed := time.Now()
	time.Sleep(outage) // the fault itself: the database stays down this long
	sentDuring := 0
	for _, rc := range rcs {
		for _, r := range rc.requests() {
			if r.Arrived.After(killed) {
				sentDuring++
			}
		}
	}
	restarted := time.Now()
	s.Restart()
	got := waitDelivered(t, 5*time.Minute, db, rcs...)
	recovered := time.Since(restarted)
	if !p.running() {
		t.Fatalf("the server exited; output:\n%s", p.out.String())
	}
	report(t, fmt.Sprintf("database killed for %s mid fan-out (%d agents × %d receivers)", outage, agents, len(rcs)),
		&answers{}, got, recovered, fmt.Sprintf("%d requests sent while the database was down", sentDuring))
	t.Logf("attempt rows without an answer: %d", checkDelivered(t, db, got, agents*len(rcs)))
	if got.duplicated != 0 {
		t.Errorf("%d duplicate requests after the outage", got.duplicated)
	}
}

// TestFaultProcessPaused runs two server processes on one MariaDB,
// pauses one (SIGSTOP) mid fan-out for 40 s, within its leases (2
// minutes, WEBHOOK_INFLIGHT_LEASE, from each claim: webhooks/lease.go),
// then resumes it (SIGCONT). The other takes nothing over; the paused
// process, resumed, records the attempts it had begun (an answer that
// came while it was stopped is read, not timed out) and sends the rest
// it held, or gives them back. Nothing is sent twice. Every delivery
// reaches its receiver, with one attempt row per request.
//
// A pause past the lease (before December 2026 this test paused past a
// claim's 30 s lease, while attempts begun held 2 minutes) has another
// process take the deliveries over, and may have one sent twice when the
// pause fell between a worker's last look at its lease and its request:
// at least once, as the README says. That the paused process sends
// nothing it knows lost, and that takeover waits for the lease, are
// tested without a real pause: webhooks' TestLapsedLeaseIsNotSent,
// TestSettledElsewhereIsNotSent and TestExpiredLeaseIsTakenOver.
func TestFaultProcessPaused(t *testing.T) {
	t.Parallel()
	const agents, pause = 2000, 40 * time.Second
	s := faultdb.Start(t)
	url := s.CreateDatabase("outdial")
	rcs := []*hookReceiver{newHookReceiver(t, slowly(20*time.Millisecond)), newHookReceiver(t, slowly(20*time.Millisecond)),
		newHookReceiver(t, slowly(20*time.Millisecond))}
	a := startTestServer(t, "a", url, "-webhook-timeout", "5s")
	b := startTestServer(t, "b", url, "-webhook-timeout", "5s")
	db := openFor(t, url)
	o := newFaultOrg(a, agents, rcs...)
	o.mustFire(a)
	waitAcked(t, agents*len(rcs)/5, 3*time.Minute, rcs...)
	a.signal(syscall.SIGSTOP)
	stopped := time.Now()
	heldAtStop := count(t, db, "SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'PENDING' AND lease_owner LIKE ?",
		a.owner()+".%")
	time.Sleep(pause) // the fault itself: the process stays paused this long
	a.signal(syscall.SIGCONT)
	resumed := time.Now()
	waitDelivered(t, 5*time.Minute, db, rcs...)
	recovered := time.Since(resumed)
	if !a.running() || !b.running() {
		t.Fatalf("a server exited; output of a:\n%s\nof b:\n%s", a.out.String(), b.out.String())
	}
	// The resumed process records the attempts it made before the pause
	// (their results waited for its writer).
	waitAttempts(t, 2*time.Minute, db, rcs...)
	// Any send of what it held queued would have begun at once on SIGCONT
	// and been recorded by now; a graceful stop ends what is left.
	a.stop()
	got := tallyOf(t, db, rcs...)
	lateBegunBefore, late := lateDuplicates(resumed, rcs...)
	lapsed := len(a.logLines("their leases ran out first"))
	takenOver := takeovers(b, a.owner())
	report(t, fmt.Sprintf("one of two processes paused %s mid fan-out (%d agents × %d receivers)", pause, agents, len(rcs)),
		&answers{}, got, recovered,
		fmt.Sprintf("deliveries leased to the paused process at the pause %d, taken over by the other %d; duplicates begun by it after SIGCONT %d; "+
			"sent before the pause and sent again by the other %d (of which %d arrived only after SIGCONT, begun before the pause)",
			heldAtStop, takenOver, late, got.duplicated-late, lateBegunBefore),
		fmt.Sprintf("log lines of lapsed leases in the paused process %d; paused for %s", lapsed, resumed.Sub(stopped).Round(time.Millisecond)),
		duplicateOrigins(stopped, resumed, rcs...))
	t.Logf("attempt rows without an answer: %d", checkDelivered(t, db, got, agents*len(rcs)))
	if late != 0 {
		t.Errorf("%d duplicates begun after the paused process resumed, want 0", late)
	}
	if got.duplicated != 0 {
		t.Errorf("%d duplicates in all, want 0: a pause within the lease sends nothing twice", got.duplicated)
	}
	if takenOver != 0 {
		t.Errorf("the other process took %d of the %d leases held at the pause over, want none: the pause was within them", takenOver, heldAtStop)
	}
}

// TestFaultDiskFullWhileResultsWait fills the 8 MiB filesystem of a SQLite
// database while a 300-agent fan-out is being sent, keeps it full for 45 s
// (past the leases: the writer cannot record a result, nor renew a
// lease), frees it, and fans out again. Every delivery of both fan-outs
// reaches the receiver, none twice, every request has its attempt row,
// and none of the first is recorded SUPERSEDED (the second's claim would
// do so to one whose result was given up).
func TestFaultDiskFullWhileResultsWait(t *testing.T) {
	t.Parallel()
	const agents, full = 300, 45 * time.Second
	dir := faultdb.SmallFS(t, 8<<20)
	url := "sqlite:" + dir + "/outdial.db"
	rc := newHookReceiver(t, slowly(100*time.Millisecond))
	p := startTestServer(t, "server", url, "-request-timeout", "5s", "-webhook-timeout", "5s")
	db := openFor(t, url)
	o := newFaultOrg(p, agents, rc)
	truncateWAL(t, url)
	o.mustFire(p)
	waitAcked(t, 10, waitTimeout, rc)
	filler, filled := faultdb.Fill(t, dir)
	filledAt := time.Now()
	time.Sleep(full) // the fault itself: the disk stays full this long
	sentFull := 0
	for _, r := range rc.requests() {
		if r.Arrived.After(filledAt) {
			sentFull++
		}
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	first := waitDelivered(t, 2*time.Minute, db, rc)
	recovered := time.Since(freed)
	// The next change of every agent: its claim would supersede a
	// delivery of the first whose result had been given up.
	p.mutate("downgradeCallingPlan", downgrade, map[string]any{"id": o.number, "caps": []string{"MAKE_CALLS"}}, nil)
	got := waitDelivered(t, 2*time.Minute, db, rc)
	report(t, fmt.Sprintf("SQLite filesystem full for %s while results waited (%d agents, then %d more changes)", full, agents, agents),
		&answers{}, got, recovered,
		fmt.Sprintf("filled with %d bytes; %d requests sent while full; first fan-out after freeing: %d received, %d lost, statuses %v",
			filled, sentFull, first.received, first.lost, first.statuses))
	t.Logf("attempt rows without an answer: %d", checkDelivered(t, db, got, 2*agents))
	if got.duplicated != 0 {
		t.Errorf("%d duplicate requests", got.duplicated)
	}
}
