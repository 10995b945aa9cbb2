package calling_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

var admin = calling.Actor{Name: "test admin", Role: calling.RoleAdmin}

// largeWorld is n agents who can all call through one number: a queue, a
// capacity profile and an outbound profile hold them all.
type largeWorld struct {
	svc    *calling.Service
	db     *models.DB
	number int64
}

// newLargeWorld builds the world through the service for one agent, then
// copies that agent's rows (memberships, stored ability) for the others
// with batched INSERTs: their ability is the same, as Derive would give it.
func newLargeWorld(t *testing.T, n int) largeWorld {
	t.Helper()
	ctx := context.Background()
	db := dbtest.Open(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := calling.New(db, webhooks.NewOutbox(models.Now), log, abilityOracle(t))
	num, err := svc.AddPhoneNumber(ctx, admin, calling.AddPhoneNumberInput{Number: "+14255550100",
		CallingPlan: []calling.Capability{calling.MakeCalls}})
	must(t, err)
	q, err := svc.CreateQueue(ctx, admin, calling.CreateQueueInput{Name: "Outbound", Channel: "VOICE"})
	must(t, err)
	cp, err := svc.CreateCapacityProfile(ctx, admin, calling.CreateCapacityProfileInput{Name: "Voice", WorkItemLimit: 1, ResetFrequency: "IMMEDIATE"})
	must(t, err)
	first, err := svc.CreateAgent(ctx, admin, calling.CreateAgentInput{Name: "Agent 000000", Email: "agent000000@example.com", UnifiedRoutingEnabled: true})
	must(t, err)
	_, err = svc.AddAgentsToQueue(ctx, admin, calling.QueueMembersInput{QueueID: q.ID, AgentIDs: []int64{first.ID}})
	must(t, err)
	_, err = svc.AddAgentsToCapacityProfile(ctx, admin, calling.CapacityProfileMembersInput{CapacityProfileID: cp.ID, AgentIDs: []int64{first.ID}})
	must(t, err)
	_, err = svc.CreateOutboundProfile(ctx, admin, calling.CreateOutboundProfileInput{Name: "Outbound", QueueID: q.ID,
		CapacityProfileID: cp.ID, PhoneNumberIDs: []int64{num.ID}})
	must(t, err)
	var ab models.CallingAbility
	must(t, db.Where("agent_id = ?", first.ID).First(&ab).Error)
	if !ab.CanMakeCalls {
		t.Fatalf("the first agent cannot call: %s", ab.Snapshot)
	}
	const batch = 500
	for from := 1; from < n; from += batch {
		to := min(from+batch, n)
		agents := make([]models.Agent, 0, to-from)
		for i := from; i < to; i++ {
			email := fmt.Sprintf("agent%06d@example.com", i)
			agents = append(agents, models.Agent{Name: "Agent " + strconv.Itoa(i), NameKey: "agent " + strconv.Itoa(i),
				Email: email, EmailKey: email, UnifiedRoutingEnabled: true, CreatedAt: first.CreatedAt, UpdatedAt: first.CreatedAt})
		}
		must(t, db.Create(&agents).Error)
		qm := make([]models.QueueMember, len(agents))
		cm := make([]models.CapacityProfileMember, len(agents))
		abs := make([]models.CallingAbility, len(agents))
		for i, a := range agents {
			qm[i] = models.QueueMember{QueueID: q.ID, AgentID: a.ID}
			cm[i] = models.CapacityProfileMember{CapacityProfileID: cp.ID, AgentID: a.ID}
			abs[i] = models.CallingAbility{AgentID: a.ID, Version: ab.Version, CanMakeCalls: true, Snapshot: ab.Snapshot, ChangedAt: ab.ChangedAt}
		}
		must(t, db.Create(&qm).Error)
		must(t, db.Create(&cm).Error)
		must(t, db.Create(&abs).Error)
	}
	// The measured dry run runs without the oracle, which would read every
	// agent once more.
	return largeWorld{svc: calling.New(db, webhooks.NewOutbox(models.Now), log), db: db, number: num.ID}
}

// abilityOracle is the refresh rule's oracle (calling.WithAbilityCheck)
// for a test's service: a command that leaves a stored ability other than
// the configuration's fails the test.
func abilityOracle(t testing.TB) calling.Option {
	return calling.WithAbilityCheck(func(action string, err error) {
		t.Errorf("refresh oracle: after %s, the stored abilities are not those of the configuration:\n%v", action, err)
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// heapPeak samples the bytes of live and not yet collected heap objects
// every millisecond until stop is called, which returns the highest.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	var mu sync.Mutex
	done := make(chan struct{})
	finished := make(chan struct{})
	read := func() {
		metrics.Read(sample)
		mu.Lock()
		peak = max(peak, sample[0].Value.Uint64())
		mu.Unlock()
	}
	go func() {
		defer close(finished)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				read()
			}
		}
	}()
	return func() uint64 {
		read()
		close(done)
		<-finished
		return peak
	}
}

// TestDryRunOverManyAgents previews downgrading the one number of n
// agents: every agent is counted (all lose calling), only the first 100
// diffs by email are kept, and nothing is written. It logs the time and
// the peak heap of the dry run. n is 10,000 (2,000 with -short), or
// IMPACT_AGENTS: the measured run of the README used IMPACT_AGENTS=100000.
func TestDryRunOverManyAgents(t *testing.T) {
	n := 10_000
	if testing.Short() {
		n = 2_000
	}
	if v, err := strconv.Atoi(os.Getenv("IMPACT_AGENTS")); err == nil && v > 0 {
		n = v
	}
	w := newLargeWorld(t, n)
	var versionsBefore, eventsBefore, auditBefore int64
	count := func(table string, dst *int64) { must(t, w.db.Table(table).Count(dst).Error) }
	count("calling_ability_versions", &versionsBefore)
	count("webhook_events", &eventsBefore)
	count("audit_entries", &auditBefore)

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := heapPeak()
	start := time.Now()
	svc, imp := w.svc.Observe(true)
	_, err := svc.DowngradeCallingPlan(context.Background(), admin, calling.ChangeCallingPlanInput{PhoneNumberID: w.number,
		Capabilities: []calling.Capability{calling.MakeCalls}})
	took := time.Since(start)
	peak := stop()
	var end runtime.MemStats
	runtime.ReadMemStats(&end)
	must(t, err)
	t.Logf("dry run over %d agents: %s, peak heap %.1f MiB (%.1f MiB before), %.1f MiB allocated in all",
		n, took.Round(time.Millisecond), float64(peak)/(1<<20), float64(base.HeapAlloc)/(1<<20), float64(end.TotalAlloc-base.TotalAlloc)/(1<<20))

	if !imp.DryRun || imp.AgentsChanged != n || imp.AgentsLosingCalling != n || imp.AgentsGainingCalling != 0 {
		t.Fatalf("impact: dryRun %v, %d changed, %d losing, %d gaining; want %d, %d, 0", imp.DryRun, imp.AgentsChanged,
			imp.AgentsLosingCalling, imp.AgentsGainingCalling, n, n)
	}
	if len(imp.Changes) != calling.MaxImpactChanges {
		t.Fatalf("%d diffs kept, want %d", len(imp.Changes), calling.MaxImpactChanges)
	}
	for i, d := range imp.Changes {
		if want := fmt.Sprintf("agent%06d@example.com", i); d.AgentEmail != want {
			t.Fatalf("diff %d is of %s, want %s (the first by email)", i, d.AgentEmail, want)
		}
		if d.Previous == nil || !d.Previous.Ability.CanMakeCalls || d.Current.Ability.CanMakeCalls ||
			!slices.Equal(d.CallerIDsLost, []string{"+14255550100"}) || len(d.CallerIDsGained) != 0 {
			t.Fatalf("diff %d = %+v", i, d)
		}
	}
	var versionsAfter, eventsAfter, auditAfter, canCall int64
	count("calling_ability_versions", &versionsAfter)
	count("webhook_events", &eventsAfter)
	count("audit_entries", &auditAfter)
	must(t, w.db.Table("calling_abilities").Where("can_make_calls = ?", true).Count(&canCall).Error)
	if versionsAfter != versionsBefore || eventsAfter != eventsBefore || auditAfter != auditBefore || canCall != int64(n) {
		t.Fatalf("the dry run wrote: versions %d→%d, events %d→%d, audit %d→%d, %d of %d agents can still call",
			versionsBefore, versionsAfter, eventsBefore, eventsAfter, auditBefore, auditAfter, canCall, n)
	}
}
