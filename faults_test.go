//go:build faults

package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"outdial/internal/faultdb"
	"outdial/resolvers"
)

// The fault tests of issue 8 (acceptance 3), run by .ci/run with
// go test -tags faults: the database killed, paused, locked and starved
// under a running server, each on a MariaDB of its own (internal/faultdb),
// and SQLite on a full filesystem. Each prints a FAULT REPORT line: the
// requests refused and with which code, the deliveries expected, received,
// duplicated and lost, the attempt rows against the requests the receivers
// got, and how long recovery took.

// slack is what a loaded machine may add to a deadline before an answer
// arrives.
const slack = 3 * time.Second

// must503 says why r is not a 503 SERVICE_UNAVAILABLE with Retry-After
// answered within limit; "" when it is.
func must503(r timed, limit time.Duration) string {
	switch {
	case r.err != nil:
		return "no answer: " + r.err.Error()
	case r.resp.Status != http.StatusServiceUnavailable || r.code() != resolvers.CodeServiceUnavailable:
		return fmt.Sprintf("HTTP %d %s", r.resp.Status, r.code())
	case r.header.Get("Retry-After") == "":
		return "a 503 without Retry-After"
	case r.took > limit:
		return fmt.Sprintf("answered after %s, past %s", r.took, limit)
	}
	return ""
}

// TestFaultDatabaseKilledDuringMutation kills MariaDB (SIGKILL) while a
// mutation that changes 2,000 abilities waits to write its audit entry
// (all its other writes done), keeps it down for more than a minute while
// requests keep coming, and restarts it on the same data directory. The
// mutation is told SERVICE_UNAVAILABLE (or OUTCOME_UNKNOWN) and nothing of
// it is committed; during the outage every request gets 503
// SERVICE_UNAVAILABLE with Retry-After at once and /readyz says 503; the
// server recovers by itself, and the mutation made again reaches the
// receiver once per agent.
func TestFaultDatabaseKilledDuringMutation(t *testing.T) {
	t.Parallel()
	const deadline, outage = 10 * time.Second, 65 * time.Second
	s := faultdb.Start(t)
	url := s.CreateDatabase("outdial")
	rc := newHookReceiver(t, nil)
	p := startTestServer(t, "server", url, "-request-timeout", deadline.String())
	db := openFor(t, url)
	o := newFaultOrg(p, 2000, rc)

	// The mutation does all its writes, then waits for the audit table,
	// locked here, when the database dies.
	lock := s.Conn("outdial")
	if _, err := lock.ExecContext(context.Background(), "LOCK TABLES audit_entries WRITE"); err != nil {
		t.Fatal(err)
	}
	fired := make(chan timed, 1)
	go func() { fired <- o.fire(p) }()
	poll(t, "the mutation to wait for the audit table", waitTimeout, func() bool {
		return s.Count("", "SELECT COUNT(*) FROM information_schema.processlist WHERE state LIKE 'Waiting for table metadata lock%'"+
			" AND info LIKE 'INSERT INTO `audit_entries`%'") > 0
	})
	s.Kill()
	killedAt := time.Now()
	a := &answers{}
	mutation := <-fired
	if c := mutation.code(); c != resolvers.CodeServiceUnavailable && c != resolvers.CodeOutcomeUnknown {
		a.note(mutation, "the mutation under way when the database died: "+c)
	} else {
		a.note(mutation, "")
	}

	readyz := outageRequests(t, p, a, killedAt.Add(outage), deadline)
	if !p.running() {
		t.Fatalf("the server exited during the outage; output:\n%s", p.out.String())
	}
	restarted := time.Now()
	s.Restart() // crash recovery included
	back := time.Since(restarted)
	waitUntil(t, "/readyz to say ready", 2*time.Minute, func() bool { st, _ := p.readyz(); return st == http.StatusOK })
	recovered := time.Since(restarted)

	// Nothing of the mutation nor of the refused requests was committed.
	if n := count(t, db, "SELECT COUNT(*) FROM webhook_deliveries"); n != 0 && mutation.code() != resolvers.CodeOutcomeUnknown {
		t.Errorf("%d deliveries stored after the mutation was refused, want 0", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM queues WHERE name LIKE 'Outage %'"); n != 0 {
		t.Errorf("%d queues created during the outage, all of them refused", n)
	}
	if mutation.code() != resolvers.CodeOutcomeUnknown || count(t, db, "SELECT COUNT(*) FROM webhook_deliveries") == 0 {
		o.mustFire(p)
	}
	got := waitDelivered(t, 3*time.Minute, db, rc)
	report(t, "database killed for 65 s during a 2,000-agent mutation", a, got, recovered,
		fmt.Sprintf("the mutation under way: %s after %s", mutation.code(), mutation.took.Round(time.Millisecond)),
		fmt.Sprintf("/readyz %s during the outage", readyz),
		fmt.Sprintf("MariaDB answered %s after its restart, the server was ready %s after it", back.Round(10*time.Millisecond),
			(recovered-back).Round(10*time.Millisecond)))
	checkFigures(t, a, got, 2000)
}

// outageRequests sends a query, a mutation and /readyz every second until
// end, noting the answers in a: each must be 503 SERVICE_UNAVAILABLE with
// Retry-After within the deadline (and /readyz 503). It returns the
// /readyz answers seen.
func outageRequests(t *testing.T, p *serverProc, a *answers, end time.Time, deadline time.Duration) string {
	t.Helper()
	ready := &answers{}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for i := 1; time.Now().Before(end); i++ {
		for _, r := range concurrently(
			func() timed { return post(context.Background(), p.url(), viewerQuery, nil) },
			func() timed {
				return post(context.Background(), p.url(), createQueue, map[string]any{"name": fmt.Sprintf("Outage %d", i), "channel": "VOICE"})
			},
		) {
			a.note(r, must503(r, deadline+slack))
		}
		start := time.Now()
		st, _ := p.readyz()
		if st != http.StatusServiceUnavailable {
			a.add("/readyz", 0, fmt.Sprintf("/readyz %d during the outage", st))
		}
		ready.add(fmt.Sprintf("HTTP %d", st), time.Since(start), "")
		<-tick.C
	}
	return ready.String()
}

// checkFigures fails t unless no answer was bad and every one of want
// deliveries was received once, with one attempt row per request.
func checkFigures(t *testing.T, a *answers, got tally, want int) {
	t.Helper()
	for _, b := range a.bad {
		t.Errorf("wrong answer: %s", b)
	}
	if got.expected != want || got.lost != 0 || got.statuses["SUCCEEDED"] != want {
		t.Errorf("%d deliveries stored, %d lost, statuses %v; want %d, all SUCCEEDED", got.expected, got.lost, got.statuses, want)
	}
	if got.duplicated != 0 {
		t.Errorf("%d duplicate requests", got.duplicated)
	}
	if got.attempts != int64(got.sends) {
		t.Errorf("%d attempt rows for %d requests received", got.attempts, got.sends)
	}
}

// TestFaultCommitInFlight stops the database right after a mutation's
// last statement, so that its COMMIT is under way when the database stops
// answering:
//
//   - paused (SIGSTOP) past the deadline: the client is told
//     OUTCOME_UNKNOWN within the deadline plus the commit's grace, not
//     left without an answer; requests meanwhile get 503. After SIGCONT
//     the commit completes, and the server logs that it did;
//   - killed (SIGKILL): the client is told OUTCOME_UNKNOWN or
//     SERVICE_UNAVAILABLE at once, and after the restart nothing of the
//     mutation is there (InnoDB rolled it back).
func TestFaultCommitInFlight(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		stop      func(*faultdb.Server)
		resume    func(*faultdb.Server)
		committed bool // what the database holds once back
		codes     []string
	}{
		{"paused", (*faultdb.Server).Pause, (*faultdb.Server).Resume, true, []string{resolvers.CodeOutcomeUnknown}},
		{"killed", (*faultdb.Server).Kill, (*faultdb.Server).Restart, false,
			[]string{resolvers.CodeOutcomeUnknown, resolvers.CodeServiceUnavailable}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			const deadline = 3 * time.Second
			s := faultdb.Start(t)
			url := s.CreateDatabase("outdial")
			var armed atomic.Bool
			stopped := make(chan struct{})
			hook := func(a *app) {
				// Right after the audit entry, the last statement before COMMIT.
				// A command inserts its audit entry first and completes it
				// with an UPDATE, its last statement before the commit
				// (calling/service.go): stop the database right after it.
				err := a.db.Callback().Update().After("gorm:update").Register("faults:stop-before-commit", func(tx *gorm.DB) {
					if tx.Statement.Table == "audit_entries" && tx.Error == nil && armed.CompareAndSwap(true, false) {
						c.stop(s)
						close(stopped)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			logs := &captured{next: newTestLogHandler(t)}
			e := startLogged(t, logs, hook, requestTimeout(deadline), func(cfg *config) { cfg.DatabaseURL = url })
			armed.Store(true)
			done := make(chan timed, 1)
			go func() {
				done <- post(context.Background(), e.srv.URL, createQueue, map[string]any{"name": "In flight", "channel": "VOICE"})
			}()
			<-stopped
			a := &answers{}
			if c.name == "paused" {
				r := post(context.Background(), e.srv.URL, viewerQuery, nil)
				a.note(r, must503(r, deadline+slack))
			}
			r := <-done
			bad := ""
			if !contains(c.codes, r.code()) || r.took > deadline+commitGraceForTests+slack {
				bad = fmt.Sprintf("the mutation whose commit was under way: %s after %s, want one of %v", r.code(), r.took, c.codes)
			}
			a.note(r, bad)
			c.resume(s)
			resumed := time.Now()
			waitUntil(t, "the server to serve again", 2*time.Minute, func() bool {
				return post(context.Background(), e.srv.URL, viewerQuery, nil).code() == "OK"
			})
			recovered := time.Since(resumed)
			var q struct{ Queues struct{ TotalCount int } }
			e.query(`{ queues(filter: {search: "In flight"}) { totalCount } }`, nil, &q)
			if got := q.Queues.TotalCount == 1; got != c.committed {
				t.Errorf("the mutation answered %s; committed: %v, want %v", r.code(), got, c.committed)
			}
			if c.committed {
				waitUntil(t, "the log to say how the commit ended", waitTimeout, func() bool {
					return logs.has(slog.LevelWarn, "a commit reported as of unknown outcome has ended")
				})
			}
			report(t, "commit under way when the database was "+c.name, a, tally{}, recovered,
				fmt.Sprintf("the mutation: %s after %s; committed once the database was back: %v",
					r.code(), r.took.Round(time.Millisecond), q.Queues.TotalCount == 1))
			for _, b := range a.bad {
				t.Errorf("wrong answer: %s", b)
			}
		})
	}
}

// commitGraceForTests is calling's commitGrace: how long past the
// deadline a COMMIT under way is waited for.
const commitGraceForTests = 10 * time.Second

// unless returns "" when ok holds, why otherwise.
func unless(ok bool, why string) string {
	if ok {
		return ""
	}
	return why
}

// contains reports whether list holds s.
func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// newTestLogHandler logs to t at INFO and above.
func newTestLogHandler(t *testing.T) slog.Handler {
	return slog.NewTextHandler(testWriter{t}, nil)
}

// TestFaultLocksPastDeadline holds, on the server's MariaDB, a row lock
// (every phone number, SELECT … FOR UPDATE) and then a table lock (LOCK
// TABLES webhook_deliveries WRITE) until well past the request deadline,
// while a fan-out mutation, other mutations and queries run: each answers
// within its deadline, those that needed what was locked with
// SERVICE_UNAVAILABLE and nothing committed, the others served; /readyz
// says ready (the database is up). Once the locks are gone the fan-out
// reaches the receiver once per agent.
func TestFaultLocksPastDeadline(t *testing.T) {
	t.Parallel()
	const deadline = 4 * time.Second
	s := faultdb.Start(t)
	url := s.CreateDatabase("outdial")
	rc := newHookReceiver(t, nil)
	p := startTestServer(t, "server", url, "-request-timeout", deadline.String())
	db := openFor(t, url)
	o := newFaultOrg(p, 300, rc)
	ctx := context.Background()
	within := func(r timed, wantCode string) string {
		if r.code() != wantCode || r.took > deadline+slack {
			return fmt.Sprintf("%s after %s, want %s within %s", r.code(), r.took, wantCode, deadline)
		}
		return ""
	}

	// A row lock on every number, held until every request has answered.
	rows := &answers{}
	conn := s.Conn("outdial")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("SELECT id FROM phone_numbers FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	held := time.Now()
	fns := []func() timed{func() timed { return o.fire(p) }}
	for i := range 5 {
		fns = append(fns, func() timed { return post(ctx, p.url(), viewerQuery, nil) },
			func() timed { return post(ctx, p.url(), `{ agents(first: 100) { totalCount nodes { name } } }`, nil) },
			func() timed {
				return post(ctx, p.url(), createQueue, map[string]any{"name": fmt.Sprintf("Row lock %d", i), "channel": "VOICE"})
			})
	}
	got := concurrently(fns...)
	rows.note(got[0], within(got[0], resolvers.CodeServiceUnavailable))
	for _, r := range got[1:] {
		bad := ""
		if r.code() != "OK" && r.code() != resolvers.CodeServiceUnavailable || r.took > deadline+slack {
			bad = fmt.Sprintf("%s after %s during the row lock", r.code(), r.took)
		}
		rows.note(r, bad)
	}
	rowHeld := time.Since(held)
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM webhook_deliveries"); n != 0 {
		t.Errorf("%d deliveries stored after the fan-out was refused", n)
	}
	committedQueues := count(t, db, "SELECT COUNT(*) FROM queues WHERE name LIKE 'Row lock %'")
	if ok := rows.byCode["HTTP 200 OK"] - 10; int64(ok) != committedQueues {
		t.Errorf("%d createQueue answered OK and %d queues exist", ok, committedQueues)
	}
	released := time.Now()
	o.mustFire(p) // once the lock is gone
	rowRecovered := time.Since(released)
	delivered := waitDelivered(t, 2*time.Minute, db, rc)
	report(t, "row lock on every phone number", rows, delivered, rowRecovered,
		fmt.Sprintf("lock held %s (deadline %s); fan-out mutation %s after %s", rowHeld.Round(time.Millisecond), deadline,
			got[0].code(), got[0].took.Round(time.Millisecond)))

	// A table lock on the deliveries while 40 queries read them and a
	// mutation writes some.
	table := &answers{}
	if _, err := conn.ExecContext(ctx, "LOCK TABLES webhook_deliveries WRITE"); err != nil {
		t.Fatal(err)
	}
	held = time.Now()
	fns = []func() timed{func() timed {
		return post(ctx, p.url(), downgrade, map[string]any{"id": o.number, "caps": []string{"MAKE_CALLS"}})
	}}
	for range 40 {
		fns = append(fns, func() timed {
			return post(ctx, p.url(), `{ webhookDeliveries(first: 5) { totalCount nodes { status } } }`, nil)
		})
	}
	var viewer timed
	var readyStatus int
	var readyTook time.Duration
	var tableGot []timed
	done := make(chan struct{})
	go func() { tableGot = concurrently(fns...); close(done) }()
	poll(t, "queries waiting for the locked table", waitTimeout, func() bool {
		return s.Count("", "SELECT COUNT(*) FROM information_schema.processlist WHERE state LIKE 'Waiting for table metadata lock%'") >= 20
	})
	viewer = post(ctx, p.url(), viewerQuery, nil)
	readyStart := time.Now()
	readyStatus, _ = p.readyz()
	readyTook = time.Since(readyStart)
	<-done
	tableHeld := time.Since(held)
	if _, err := conn.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	unlocked := time.Now()
	waitUntil(t, "the deliveries to be served again", waitTimeout, func() bool {
		return post(ctx, p.url(), `{ webhookDeliveries(first: 5) { totalCount } }`, nil).code() == "OK"
	})
	tableRecovered := time.Since(unlocked)
	for _, r := range tableGot {
		table.note(r, within(r, resolvers.CodeServiceUnavailable))
	}
	table.note(viewer, within(viewer, "OK"))
	if readyStatus != http.StatusOK || readyTook > 3*time.Second {
		table.add("/readyz", readyTook, fmt.Sprintf("/readyz %d after %s with the database up", readyStatus, readyTook))
	}
	var plan struct {
		Node struct{ CallingPlan []string }
	}
	p.gql(`query($id: ID!) { node(id: $id) { ... on PhoneNumber { callingPlan } } }`, map[string]any{"id": o.number}, &plan)
	if !contains(plan.Node.CallingPlan, "MAKE_CALLS") {
		t.Errorf("the refused downgrade committed: plan %v", plan.Node.CallingPlan)
	}
	report(t, "LOCK TABLES webhook_deliveries WRITE", table, tallyOf(t, db, rc), tableRecovered,
		fmt.Sprintf("lock held %s (deadline %s); viewer %s after %s; /readyz %d after %s", tableHeld.Round(time.Millisecond),
			deadline, viewer.code(), viewer.took.Round(time.Millisecond), readyStatus, readyTook.Round(time.Millisecond)))
	checkFigures(t, rows, delivered, 300)
	for _, b := range table.bad {
		t.Errorf("wrong answer under the table lock: %s", b)
	}
}

// TestFaultDiskFullSQLite serves a SQLite database on an 8 MiB tmpfs and
// fills the filesystem: /readyz says the disk is full, mutations answer
// SERVICE_UNAVAILABLE and write nothing (a fan-out of 300 abilities
// included), queries are served. Once the space is freed, /readyz says
// ready, the fan-out made again reaches the receiver once per agent, and
// the database's integrity check passes.
func TestFaultDiskFullSQLite(t *testing.T) {
	t.Parallel()
	dir := faultdb.SmallFS(t, 8<<20)
	url := "sqlite:" + dir + "/outdial.db"
	rc := newHookReceiver(t, nil)
	p := startTestServer(t, "server", url, "-request-timeout", "5s")
	db := openFor(t, url)
	o := newFaultOrg(p, 300, rc)
	truncateWAL(t, url)
	filler, filled := faultdb.Fill(t, dir)
	full := time.Now()

	a := &answers{}
	st, body := p.readyz()
	a.add(fmt.Sprintf("/readyz %d", st), 0, unless(st == http.StatusServiceUnavailable && strings.Contains(body, "disk is full"),
		fmt.Sprintf("/readyz on a full disk: %d %q", st, body)))
	fire := o.fire(p)
	a.note(fire, unless(fire.code() == resolvers.CodeServiceUnavailable, "the fan-out on a full disk: "+fire.code()))
	for i := range 5 {
		r := post(context.Background(), p.url(), createQueue, map[string]any{"name": fmt.Sprintf("Full %d", i), "channel": "VOICE"})
		a.note(r, unless(r.code() == resolvers.CodeServiceUnavailable, "createQueue on a full disk: "+r.code()))
		r = post(context.Background(), p.url(), `{ agents(first: 10) { totalCount } }`, nil)
		a.note(r, unless(r.code() == "OK", "a query on a full disk: "+r.code()))
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	freed := time.Now()
	waitUntil(t, "/readyz to say ready once space is freed", waitTimeout, func() bool { st, _ := p.readyz(); return st == http.StatusOK })
	recovered := time.Since(freed)
	if n := count(t, db, "SELECT COUNT(*) FROM webhook_deliveries"); n != 0 {
		t.Errorf("%d deliveries stored after the fan-out was refused: half-written", n)
	}
	if n := count(t, db, "SELECT COUNT(*) FROM queues WHERE name LIKE 'Full %'"); n != 0 {
		t.Errorf("%d queues stored after every createQueue was refused", n)
	}
	o.mustFire(p)
	got := waitDelivered(t, 2*time.Minute, db, rc)
	var check string
	if err := db.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Errorf("integrity_check: %q, %v", check, err)
	}
	report(t, "SQLite on a full 8 MiB filesystem", a, got, recovered,
		fmt.Sprintf("filled with %d bytes for %s; integrity_check %s", filled, freed.Sub(full).Round(time.Millisecond), check))
	checkFigures(t, a, got, 300)
}

// truncateWAL checkpoints the SQLite database of url and truncates its
// write-ahead log, so that the next commit must grow the file: on a full
// filesystem it then fails at once instead of reusing the log's room.
func truncateWAL(t *testing.T, url string) {
	t.Helper()
	db := openFor(t, url)
	waitUntil(t, "a checkpoint that truncates the log", waitTimeout, func() bool {
		var busy, logFrames, checkpointed int
		row := db.Raw("PRAGMA wal_checkpoint(TRUNCATE)").Row()
		return row.Scan(&busy, &logFrames, &checkpointed) == nil && busy == 0
	})
}
