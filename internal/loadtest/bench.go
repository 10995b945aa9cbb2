package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"gorm.io/gorm"

	"outdial/calling"
	"outdial/models"
	"outdial/resolvers"
	"outdial/webhooks"
)

// BenchConfig configures RunBench.
type BenchConfig struct {
	// DatabaseURL is an empty database (sqlite:<path> or mysql://…).
	DatabaseURL string
	Agents      int
	Profiles    int
	// Concurrency is the number of concurrent requests of the read
	// scenarios; Duration how long each side of one is loaded.
	Concurrency int
	Duration    time.Duration
	// Latencies is how many one-agent changes the latency scenario makes.
	Latencies int
	// History is how many delivered webhooks (an event and a SUCCEEDED
	// delivery each) are stored before the scenarios run: the history
	// of a service that has run for a while.
	History int
	// Log receives the server's warnings; Progress the steps of the run.
	Log      *slog.Logger
	Progress io.Writer
}

// Row is one line of the benchmark's table.
type Row struct {
	Scenario string
	// Figure and Baseline are what was measured (requests/s, or a
	// duration); Ratio is figure ÷ baseline where a baseline runs.
	Figure, Baseline string
	Ratio            float64
	// CPURatio is the baseline's CPU time per request ÷ the figure's
	// (reads); for the mutation changing every agent, its CPU time ÷ that
	// of the one changing a tenth.
	CPURatio float64
	P50, P99 time.Duration
	// PeakRSS is the process's peak resident memory during the scenario
	// (server and load generator: an upper bound of the server's); for a
	// mutation, until its answer, and for its webhooks, from the
	// mutation's start until the last one arrived.
	PeakRSS int64
	// Err says why the scenario's answers were wrong, or it failed.
	Err error
}

// Report is the outcome of a run.
type Report struct {
	Database string
	Agents   int
	Profiles int
	Seed     time.Duration
	Rows     []Row
}

// Failed reports whether a scenario failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Rows, func(row Row) bool { return row.Err != nil })
}

// Print writes the report as a Markdown table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%s, %d agents, %d outbound profiles, seeded in %s\n\n", models.RedactURL(r.Database), r.Agents, r.Profiles, r.Seed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| scenario\t figure\t baseline\t ratio\t CPU ratio\t p50\t p99\t peak RSS\t check\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t---\t---\t---\t")
	for _, row := range r.Rows {
		ratio, cpuRatio := "", ""
		if row.Ratio > 0 {
			ratio = fmt.Sprintf("%.2f", row.Ratio)
		}
		if row.CPURatio > 0 {
			cpuRatio = fmt.Sprintf("%.2f", row.CPURatio)
		}
		check := "ok"
		if row.Err != nil {
			check = "FAILED: " + strings.ReplaceAll(row.Err.Error(), "\n", " ")
		}
		fmt.Fprintf(tw, "| %s\t %s\t %s\t %s\t %s\t %s\t %s\t %s\t %s\t\n", row.Scenario, row.Figure, row.Baseline, ratio, cpuRatio,
			ms(row.P50), ms(row.P99), mib(row.PeakRSS), check)
	}
	tw.Flush()
}

func ms(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000)
}

func mib(n int64) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf("%d MiB", n>>20)
}

// bench is one run: the server (GraphQL handler, webhook dispatcher) and
// the baseline on one database, a webhook receiver, and the organisation.
type bench struct {
	cfg      BenchConfig
	db, bg   *models.DB
	svc      *calling.Service
	org      *Org
	token    string
	gqlURL   string
	baseURL  string
	client   *http.Client
	receiver *receiver
	rows     []Row
	stops    []func() // in reverse order at the end
}

// benchTimeout is the deadline of the benchmark's requests: a change of
// every ability may take longer than the server's default deadline
// (resolvers.DefaultRequestTimeout) on a loaded machine, and is measured
// rather than cut short.
const benchTimeout = 10 * time.Minute

// loopback is the network the benchmark's webhooks go to.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// RunBench seeds an organisation of cfg.Agents agents on an empty
// database and runs the scenarios of BENCHMARKS.md: the reads, each
// against the hand-written baseline on the same SQL; the mutations
// changing a fiftieth, a tenth and all of the abilities, each until its
// webhooks are received, the last one against a bare http.Client loop to
// the same receiver; the latency of a one-agent change to its webhook.
// Every answer is checked; a wrong one is the scenario's Err.
func RunBench(ctx context.Context, cfg BenchConfig) (*Report, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	cfg.Concurrency = max(cfg.Concurrency, 1)
	cfg.Latencies = max(cfg.Latencies, 1)
	b := &bench{cfg: cfg, client: NewClient(cfg.Concurrency)}
	b.client.Timeout = benchTimeout
	defer b.close()
	if err := b.open(ctx); err != nil {
		return nil, err
	}
	rep := &Report{Database: cfg.DatabaseURL, Agents: cfg.Agents, Profiles: cfg.Profiles}
	start := time.Now()
	var err error
	b.org, err = SeedOrg(ctx, b.svc, cfg.Agents, cfg.Profiles, func(done int) {
		fmt.Fprintf(cfg.Progress, "seeded %d agents in %s\n", done, time.Since(start).Round(time.Millisecond))
	})
	if err != nil {
		return nil, err
	}
	rep.Seed = time.Since(start)
	if err := b.serve(ctx); err != nil {
		return nil, err
	}
	if cfg.History > 0 {
		start := time.Now()
		if err := b.history(ctx, cfg.History); err != nil {
			return nil, err
		}
		fmt.Fprintf(cfg.Progress, "stored %d delivered webhooks in %s\n", cfg.History, time.Since(start).Round(time.Millisecond))
	}
	b.reads(ctx)
	b.mutations(ctx)
	b.latency(ctx)
	rep.Rows = b.rows
	return rep, ctx.Err()
}

func (b *bench) open(ctx context.Context) error {
	db, err := models.Open(b.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	b.db = db
	if err := db.Migrate(ctx, b.cfg.Log); err != nil {
		return err
	}
	if b.bg, err = db.Pool(10); err != nil {
		return err
	}
	var agents int64
	if err := db.WithContext(ctx).Table("agents").Count(&agents).Error; err != nil {
		return err
	}
	if agents > 0 {
		return fmt.Errorf("%s holds %d agents: the benchmark needs an empty database", models.RedactURL(b.cfg.DatabaseURL), agents)
	}
	outbox := webhooks.NewOutbox(models.Now)
	b.svc = calling.New(db, outbox, b.cfg.Log, calling.WithAllowedCIDRs(loopback))
	d, err := webhooks.NewDispatcher(b.bg, outbox, webhooks.Config{AllowedCIDRs: loopback, Logger: b.cfg.Log,
		Registerer: prometheus.NewRegistry(), RetrySchedule: []time.Duration{time.Second}})
	if err != nil {
		return err
	}
	dctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(dctx) }()
	b.stops = append(b.stops, func() { stop(); <-done })
	return nil
}

// serve starts the GraphQL server, the baseline and the receiver, and
// registers the receiver as a webhook endpoint.
func (b *bench) serve(ctx context.Context) error {
	actor := calling.Actor{Name: "outdial-bench", Role: calling.RoleAdmin}
	_, token, err := b.svc.CreateAPIToken(ctx, actor, calling.CreateAPITokenInput{Name: "outdial-bench", Role: calling.RoleAdmin})
	if err != nil {
		return err
	}
	b.token = token
	gql, err := b.listen(resolvers.NewHandler(resolvers.Config{Service: b.svc, Log: b.cfg.Log,
		RequestTimeout: benchTimeout}))
	if err != nil {
		return err
	}
	b.gqlURL = gql + "/graphql"
	base, err := b.listen(NewBaseline(b.svc, b.cfg.Log))
	if err != nil {
		return err
	}
	b.baseURL = base
	b.receiver = &receiver{seen: map[int64]int64{}}
	rcv, err := b.listen(b.receiver)
	if err != nil {
		return err
	}
	b.receiver.bareURL = rcv + "/bare"
	var ep struct {
		CreateWebhookEndpoint struct{ Secret string }
	}
	err = b.graphql(ctx, `mutation($url: String!) { createWebhookEndpoint(input: {url: $url, eventTypes: [AGENT_CALLING_ABILITY_CHANGED]}) { secret } }`,
		map[string]any{"url": rcv + "/"}, &ep)
	if err != nil {
		return err
	}
	b.receiver.wh, err = standardwebhooks.NewWebhook(ep.CreateWebhookEndpoint.Secret)
	return err
}

func (b *bench) listen(h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	b.stops = append(b.stops, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String(), nil
}

func (b *bench) close() {
	for i := len(b.stops) - 1; i >= 0; i-- {
		b.stops[i]()
	}
	for _, db := range []*models.DB{b.bg, b.db} {
		if db != nil {
			_ = db.Close()
		}
	}
}

// graphql posts a query with the run's token and decodes its data into
// out; an answer with errors is an error.
func (b *bench) graphql(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	return b.post(ctx, b.gqlURL, body, out)
}

func (b *bench) post(ctx context.Context, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Data   json.RawMessage
		Errors json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("HTTP %d: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || len(r.Errors) > 0 {
		return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, r.Errors)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(r.Data, out)
}

// read is one read scenario: a GraphQL query, the baseline path that
// answers it, and a check of both answers' data.
type read struct {
	name, query, path string
	check             func(graphql, baseline []byte) error
}

// reads runs the read scenarios, each side by side with the baseline.
func (b *bench) reads(ctx context.Context) {
	search := "agent9999"
	wantSearch := MatchingAgents(b.org.Agents, search)
	gid := func(kind calling.Kind, id int64) string { return calling.GlobalID(kind, id) }
	scenarios := []read{
		{name: fmt.Sprintf("agents(first:%d) with queues, capacity profiles, personal number, ability", PageSize),
			query: AgentsQuery, path: "/graphql", check: func(g, base []byte) error {
				if !bytes.Equal(g, base) {
					return fmt.Errorf("GraphQL and baseline answer different data: %.200s / %.200s", g, base)
				}
				var d struct {
					Agents struct{ Nodes []json.RawMessage }
				}
				if err := json.Unmarshal(g, &d); err != nil || len(d.Agents.Nodes) != PageSize {
					return fmt.Errorf("want %d agents, got %d (%v)", PageSize, len(d.Agents.Nodes), err)
				}
				return nil
			}},
		{name: fmt.Sprintf("agents(filter:{search:%q})", search),
			query: fmt.Sprintf(`{ agents(first: 100, filter: {search: %q}) { totalCount nodes { email } } }`, search),
			path:  "/search?q=" + search, check: checkAgents(wantSearch, search)},
		{name: fmt.Sprintf("agents(filter:{queueId}) { totalCount }, %d members", b.org.Agents),
			query: fmt.Sprintf(`{ agents(filter: {queueId: %q}) { totalCount } }`, gid(calling.KindQueue, b.org.QueueIDs[0])),
			path:  fmt.Sprintf("/count?queue=%d", b.org.QueueIDs[0]), check: checkAgents(b.org.Agents, "")},
		{name: fmt.Sprintf("agents(filter:{capacityProfileId}) { totalCount }, %d members", b.org.Tenth),
			query: fmt.Sprintf(`{ agents(filter: {capacityProfileId: %q}) { totalCount } }`, gid(calling.KindCapacityProfile, b.org.CapacityProfileIDs[1])),
			path:  fmt.Sprintf("/count?capacity=%d", b.org.CapacityProfileIDs[1]), check: checkAgents(b.org.Tenth, "")},
		{name: "callingSummary",
			query: `{ callingSummary { agents agentsCanMakeCalls blockers { code agents } phoneNumbers phoneNumbersCanMakeCalls outboundProfiles } }`,
			path:  "/summary", check: func(g, base []byte) error {
				var d struct {
					CallingSummary struct{ Agents, AgentsCanMakeCalls int }
				}
				if err := json.Unmarshal(g, &d); err != nil {
					return err
				}
				if s := d.CallingSummary; s.Agents != b.org.Agents || s.AgentsCanMakeCalls != b.org.Agents {
					return fmt.Errorf("callingSummary says %d agents, %d can call; want %d, all", s.Agents, s.AgentsCanMakeCalls, b.org.Agents)
				}
				var bd struct{ Agents int }
				if err := json.Unmarshal(base, &bd); err != nil || bd.Agents != b.org.Agents {
					return fmt.Errorf("baseline summary says %d agents (%v)", bd.Agents, err)
				}
				return nil
			}},
	}
	for _, s := range scenarios {
		fmt.Fprintf(b.cfg.Progress, "read: %s\n", s.name)
		b.rows = append(b.rows, b.read(ctx, s))
	}
}

// checkAgents checks an agents connection's totalCount (in both answers)
// and that every email listed contains has.
func checkAgents(want int, has string) func(g, base []byte) error {
	return func(g, base []byte) error {
		var d struct {
			Agents struct {
				TotalCount int
				Nodes      []struct{ Email string }
			}
		}
		if err := json.Unmarshal(g, &d); err != nil {
			return err
		}
		if d.Agents.TotalCount != want {
			return fmt.Errorf("totalCount %d, want %d", d.Agents.TotalCount, want)
		}
		for _, n := range d.Agents.Nodes {
			if !strings.Contains(n.Email, has) {
				return fmt.Errorf("%s listed for a search of %q", n.Email, has)
			}
		}
		if has != "" && len(d.Agents.Nodes) != min(want, 100) {
			return fmt.Errorf("%d agents listed, want %d", len(d.Agents.Nodes), min(want, 100))
		}
		var bd struct{ TotalCount int }
		if err := json.Unmarshal(base, &bd); err != nil || bd.TotalCount != want {
			return fmt.Errorf("baseline says %d (%v), want %d", bd.TotalCount, err, want)
		}
		return nil
	}
}

func (b *bench) read(ctx context.Context, s read) Row {
	row := Row{Scenario: s.name}
	l := Load{Client: b.client, Body: RequestBody(s.query), Concurrency: b.cfg.Concurrency}
	var g, base json.RawMessage
	if err := b.post(ctx, b.gqlURL, l.Body, &g); err != nil {
		row.Err = err
		return row
	}
	if err := b.post(ctx, b.baseURL+s.path, l.Body, &base); err != nil {
		row.Err = fmt.Errorf("baseline: %w", err)
		return row
	}
	if row.Err = s.check(compact(g), compact(base)); row.Err != nil {
		return row
	}
	resetPeakRSS()
	rg, rb := l.Compare(ctx, Target{Name: "graphql", URL: b.gqlURL, Token: b.token},
		Target{Name: "baseline", URL: b.baseURL + s.path, Token: b.token}, b.cfg.Duration, min(time.Second, b.cfg.Duration))
	row.PeakRSS = peakRSS()
	row.Figure = fmt.Sprintf("%.0f req/s, %s CPU/req", rg.PerSecond(), ms(rg.CPUPerRequest()))
	row.Baseline = fmt.Sprintf("%.0f req/s, %s CPU/req", rb.PerSecond(), ms(rb.CPUPerRequest()))
	if rb.PerSecond() > 0 {
		row.Ratio = rg.PerSecond() / rb.PerSecond()
	}
	if rg.CPUPerRequest() > 0 {
		row.CPURatio = rb.CPUPerRequest().Seconds() / rg.CPUPerRequest().Seconds()
	}
	row.P50, row.P99 = rg.Percentile(0.5), rg.Percentile(0.99)
	if rg.Failures+rb.Failures > 0 {
		row.Err = fmt.Errorf("%d GraphQL and %d baseline requests failed (first: %s%s)", rg.Failures, rb.Failures, rg.FirstFailure, rb.FirstFailure)
	}
	return row
}

func compact(raw json.RawMessage) []byte {
	var out bytes.Buffer
	if err := json.Compact(&out, raw); err != nil {
		return raw
	}
	return out.Bytes()
}

// mutations changes the work item limit of capacity profiles 2, 1 and 0,
// which changes the ability of their members (a fiftieth, a tenth, all
// agents), each until every webhook of the change is received (figure:
// the round trip and the process's CPU time during it); then
// posts as many webhooks from a bare http.Client loop to the same
// receiver.
func (b *bench) mutations(ctx context.Context) {
	var tenth, tenthCPU time.Duration
	for _, m := range []struct {
		profile int
		agents  int
	}{{2, b.org.Fiftieth}, {1, b.org.Tenth}, {0, b.org.Agents}} {
		fmt.Fprintf(b.cfg.Progress, "mutation changing %d abilities\n", m.agents)
		row := Row{Scenario: fmt.Sprintf("one mutation changing %d abilities", m.agents)}
		hooks := Row{Scenario: fmt.Sprintf("its %d webhooks, last one after commit", m.agents)}
		b.receiver.expect(m.agents)
		resetPeakRSS()
		start, cpu := time.Now(), cpuTime()
		var out struct {
			UpdateCapacityProfile struct{ CapacityProfile struct{ WorkItemLimit int } }
		}
		err := b.graphql(ctx, `mutation($id: ID!) { updateCapacityProfile(input: {id: $id, workItemLimit: 2}) { capacityProfile { workItemLimit } } }`,
			map[string]any{"id": calling.GlobalID(calling.KindCapacityProfile, b.org.CapacityProfileIDs[m.profile])}, &out)
		took, used := time.Since(start), cpuTime()-cpu
		row.PeakRSS = peakRSS() // the mutation's own, before its webhooks go out
		// The process's CPU time during the round trip: on a loaded machine
		// a steadier measure of the server's work than the wall time (the
		// previous scenario's webhooks have all arrived, and this one's
		// are sent only after its commit).
		row.Figure, row.P50 = fmt.Sprintf("%s, %s CPU", took.Round(time.Millisecond), used.Round(time.Millisecond)), took
		if err == nil && out.UpdateCapacityProfile.CapacityProfile.WorkItemLimit != 2 {
			err = fmt.Errorf("workItemLimit %d after the change, want 2", out.UpdateCapacityProfile.CapacityProfile.WorkItemLimit)
		}
		if err != nil {
			row.Err = err
			b.rows = append(b.rows, row)
			continue
		}
		committed := time.Now()
		err = b.receiver.wait(ctx, 10*time.Minute)
		delivered := time.Since(committed)
		hooks.PeakRSS = peakRSS()
		hooks.Figure = delivered.Round(time.Millisecond).String()
		hooks.Err = err
		if m.profile == 1 {
			tenth, tenthCPU = took, used
		}
		if m.profile == 0 && tenth > 0 {
			row.Baseline = fmt.Sprintf("the tenth's: %s, %s CPU", tenth.Round(time.Millisecond), tenthCPU.Round(time.Millisecond))
			row.Ratio = took.Seconds() / tenth.Seconds()
			if tenthCPU > 0 {
				row.CPURatio = used.Seconds() / tenthCPU.Seconds()
			}
		}
		if m.profile == 0 && err == nil {
			bare := b.bareLoop(ctx, m.agents)
			hooks.Baseline = "bare loop " + bare.Round(time.Millisecond).String()
			hooks.Ratio = bare.Seconds() / delivered.Seconds()
			hooks.Scenario += " (ratio: bare loop time ÷ fan-out time)"
		}
		b.rows = append(b.rows, row, hooks)
	}
}

// history stores n delivered webhooks of the organisation's agents (an
// event at version 1 and a SUCCEEDED delivery to the run's endpoint each),
// older than anything the scenarios make, with set-based statements.
func (b *bench) history(ctx context.Context, n int) error {
	var endpoint int64
	if err := b.db.WithContext(ctx).Table("webhook_endpoints").Select("MAX(id)").Scan(&endpoint).Error; err != nil {
		return err
	}
	at := time.Now().UTC().Add(-24 * time.Hour).Truncate(time.Microsecond)
	const chunk = 5000
	version := int64(1)
	for start := 0; start < n; start += chunk {
		m := min(chunk, n-start)
		events := make([]models.WebhookEvent, m)
		for i := range events {
			agent := b.org.AgentIDs[(start+i)%len(b.org.AgentIDs)]
			events[i] = models.WebhookEvent{MessageID: fmt.Sprintf("msg_history_%d", start+i), Type: webhooks.TypeAbilityChanged,
				AgentID: &agent, Version: &version, OccurredAt: at,
				Payload: `{"type":"agent.calling_ability.changed","data":{"history":true}}`}
		}
		err := b.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			if err := tx.CreateInBatches(&events, 500).Error; err != nil {
				return err
			}
			deliveries := make([]models.WebhookDelivery, m)
			for i, e := range events {
				deliveries[i] = models.WebhookDelivery{EndpointID: endpoint, EventID: e.ID, AgentID: e.AgentID, Version: e.Version,
					Status: webhooks.StatusSucceeded, AttemptCount: 1, CreatedAt: at, UpdatedAt: at}
			}
			return tx.CreateInBatches(&deliveries, 500).Error
		})
		if err != nil {
			return fmt.Errorf("store history: %w", err)
		}
	}
	if b.db.Dialector.Name() == "sqlite" {
		// A history built over months is checkpointed long since; one
		// written in a minute leaves the WAL holding it, and the first
		// commits after it copy it into the database.
		return b.db.WithContext(ctx).Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
	}
	return nil
}

// bareLoop posts n copies of one signed webhook to the receiver from
// webhooks.DefaultFirstAttemptWorkers goroutines sharing one client, and
// returns how long it took.
func (b *bench) bareLoop(ctx context.Context, n int) time.Duration {
	body := []byte(`{"type":"agent.calling_ability.changed","timestamp":"2026-01-01T00:00:00.000000Z","data":{"agent":{"id":"QWdlbnQ6MQ","email":"agent1@example.com","name":"Aiko Tanaka 1"},"canMakeCalls":true,"version":3,"callerIds":[{"phoneNumber":"+12065550100","source":"OUTBOUND_PROFILE","outboundProfileId":"T3V0Ym91bmRQcm9maWxlOjE","outboundProfileName":"Everyone","workItemLimit":2,"resetFrequency":"IMMEDIATELY","blockAssignment":false,"callerIdName":null}],"blockers":[]}}`)
	now := time.Now()
	sig, err := b.receiver.wh.Sign("msg_bare", now, body)
	if err != nil {
		return 0
	}
	workers := webhooks.DefaultFirstAttemptWorkers
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	b.receiver.bare.Store(0)
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= int64(n) && ctx.Err() == nil {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.receiver.bareURL, bytes.NewReader(body))
				if err != nil {
					return
				}
				req.Header = http.Header{"Content-Type": {"application/json"}, "Webhook-Id": {"msg_bare"},
					"Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}, "Webhook-Signature": {sig}}
				resp, err := c.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// latency changes one agent (unified routing off, then on) Latencies
// times and measures each time from sending the mutation to receiving its
// webhook.
func (b *bench) latency(ctx context.Context) {
	var delivered int64
	if err := b.db.WithContext(ctx).Table("webhook_deliveries").Where("status = ?", webhooks.StatusSucceeded).Count(&delivered).Error; err != nil {
		b.rows = append(b.rows, Row{Scenario: "one-agent change to its webhook", Err: err})
		return
	}
	row := Row{Scenario: fmt.Sprintf("one-agent change to its webhook, %d delivered webhooks stored", delivered)}
	id := calling.GlobalID(calling.KindAgent, b.org.AgentIDs[len(b.org.AgentIDs)-1])
	var lat []time.Duration
	resetPeakRSS()
	for i := range b.cfg.Latencies {
		b.receiver.expect(1)
		start := time.Now()
		err := b.graphql(ctx, `mutation($id: ID!, $on: Boolean!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: $on}) { agent { id } } }`,
			map[string]any{"id": id, "on": i%2 == 1}, nil)
		if err == nil {
			err = b.receiver.wait(ctx, time.Minute)
		}
		if err != nil {
			row.Err = err
			break
		}
		lat = append(lat, time.Since(start))
	}
	row.PeakRSS = peakRSS()
	if len(lat) > 0 {
		slices.Sort(lat)
		row.P50, row.P99 = lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
		row.Figure = fmt.Sprintf("%d changes", len(lat))
	}
	b.rows = append(b.rows, row)
}

// receiver is the webhook receiver: it verifies every signature, counts
// the webhooks of the change under way by agent, and counts the bare
// loop's posts apart (at /bare).
type receiver struct {
	wh      *standardwebhooks.Webhook
	bareURL string
	bare    atomic.Int64

	mu   sync.Mutex
	want int
	seen map[int64]int64 // agent → webhooks of the change under way
	bad  error
	done chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err == nil {
		err = r.wh.Verify(body, req.Header)
	}
	if err != nil {
		r.fail(fmt.Errorf("receiver: %w", err))
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if req.URL.Path == "/bare" {
		r.bare.Add(1)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var e struct {
		Type string
		Data struct{ Agent struct{ ID string } }
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Type != webhooks.TypeAbilityChanged {
		r.fail(fmt.Errorf("receiver: unexpected webhook %.100s (%v)", body, err))
	}
	_, id, err := calling.ParseGlobalID(e.Data.Agent.ID)
	if err != nil {
		r.fail(fmt.Errorf("receiver: agent %q: %w", e.Data.Agent.ID, err))
	}
	w.WriteHeader(http.StatusNoContent)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen[id]++
	if r.seen[id] > 1 {
		r.bad = cmpErr(r.bad, fmt.Errorf("agent %d got %d webhooks for one change", id, r.seen[id]))
	}
	if len(r.seen) == r.want && r.done != nil {
		close(r.done)
		r.done = nil
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func (r *receiver) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bad = cmpErr(r.bad, err)
}

// expect starts counting a change of n agents.
func (r *receiver) expect(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.want, r.seen, r.bad, r.done = n, map[int64]int64{}, nil, make(chan struct{})
}

// wait waits until every agent of the change got its webhook.
func (r *receiver) wait(ctx context.Context, limit time.Duration) error {
	r.mu.Lock()
	done := r.done
	r.mu.Unlock()
	if done != nil {
		timer := time.NewTimer(limit)
		defer timer.Stop()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bad != nil {
		return r.bad
	}
	if len(r.seen) != r.want {
		return fmt.Errorf("%d of %d agents got their webhook within %s", len(r.seen), r.want, limit)
	}
	return nil
}
