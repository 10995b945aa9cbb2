package webhooks

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"outdial/models"
	"outdial/models/dbtest"
)

// dispatcherDBEnv tells the test binary, started again by
// TestKill9LosesNothing, to run a dispatcher on that database.
const dispatcherDBEnv = "OUTDIAL_TEST_DISPATCHER_DB"

// TestDispatcherProcess is the process TestKill9LosesNothing kills: a
// dispatcher that runs until it is killed. In a normal run it does nothing
// (and does not skip: CI refuses skipped tests on MariaDB).
func TestDispatcherProcess(t *testing.T) {
	url := os.Getenv(dispatcherDBEnv)
	if url == "" {
		return
	}
	db, err := models.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDispatcher(db, nil, Config{AllowedCIDRs: loopback, PollInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	_ = d.Run(context.Background())
}

func TestKill9LosesNothing(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a process")
	}
	url := dbtest.URL(t)
	db, err := models.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	b := setupOn(t, db)
	if err := db.Migrate(context.Background(), b.log); err != nil {
		t.Fatal(err)
	}
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request, _ int) {
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	})
	b.endpoint(rc.url("/"))
	const n = 3000
	events := b.enqueue(agentEvents(n, 1)...)

	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "-test.run=^TestDispatcherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), dispatcherDBEnv+"="+url)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first process to send some", func() bool { return rc.count() >= n/10 })
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no shutdown, leases left behind
		t.Fatal(err)
	}
	_ = cmd.Wait()
	before := rc.count()
	if before >= n {
		t.Fatalf("the first process sent all %d before it was killed; the test proves nothing", before)
	}
	var leased int64
	db.Model(&models.WebhookDelivery{}).Where("lease_owner IS NOT NULL AND status = ?", StatusPending).Count(&leased)
	t.Logf("killed after %d requests, %d deliveries left leased; output: %q", before, leased, out.String())

	// A new process, once the dead one's leases (InFlightLease from
	// each claim, lease.go) have expired.
	b.clock.Set(models.Now().Add(DefaultInFlightLease + time.Second))
	b.start(b.config())
	// Up to 3000 deliveries with the race detector, beside the other
	// tests: on SQLite under load a few dozen a second. Wait while they
	// make progress.
	waitProgress(t, "every delivery succeeded", n, func() int64 {
		var succeeded int64
		db.Model(&models.WebhookDelivery{}).Where("status = ?", StatusSucceeded).Count(&succeeded)
		return succeeded
	})
	got := map[string]int{}
	for _, r := range rc.got() {
		got[r.ID]++
	}
	for _, e := range events {
		if got[e.MessageID] == 0 {
			t.Errorf("event %d (%s) never reached the receiver", e.ID, e.MessageID)
		}
	}
	t.Logf("%d requests for %d events: %d sent again after the kill", rc.count(), n, rc.count()-n)
}
