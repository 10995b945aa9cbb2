// Command outdial-latency times one-agent changes to their webhooks on a
// database that cmd/outdial-bench filled (e.g. with -history 1000000),
// and times every statement of the server and of the dispatcher on the
// way (BENCHMARKS.md, "The one-agent change on MariaDB: the hand-off").
// It takes the database over: every endpoint there is deleted and every
// PENDING delivery FAILED first, then it registers a receiver of its own.
//
//	go run ./cmd/outdial-latency -database mysql://root@127.0.0.1:3306/bench -n 30 -show 2
//
// It prints, per change shown, each statement's start and end from the
// mutation's send (srv: the server's pool, dsp: the dispatcher's), then
// the p50 and p90 of: change to webhook, the mutation's answer, answer to
// webhook, and of each statement shape.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gorm.io/gorm"

	"outdial/calling"
	"outdial/models"
	"outdial/resolvers"
	"outdial/webhooks"
)

type stmt struct {
	pool       string
	start, end time.Time
	sql        string
}

var (
	mu      sync.Mutex
	tracing bool
	stmts   []stmt
)

func install(db *models.DB, pool string) {
	before := func(tx *gorm.DB) { tx.InstanceSet("lt:start", time.Now()) }
	after := func(tx *gorm.DB) {
		v, ok := tx.InstanceGet("lt:start")
		if !ok {
			return
		}
		s := stmt{pool: pool, start: v.(time.Time), end: time.Now(), sql: tx.Statement.SQL.String()}
		if len(s.sql) > 90 {
			s.sql = s.sql[:90]
		}
		mu.Lock()
		if tracing {
			stmts = append(stmts, s)
		}
		mu.Unlock()
	}
	cb := db.Callback()
	must(cb.Query().Before("gorm:query").Register("lt:b", before))
	must(cb.Query().After("gorm:query").Register("lt:a", after))
	must(cb.Create().Before("gorm:create").Register("lt:b", before))
	must(cb.Create().After("gorm:create").Register("lt:a", after))
	must(cb.Update().Before("gorm:update").Register("lt:b", before))
	must(cb.Update().After("gorm:update").Register("lt:a", after))
	must(cb.Delete().Before("gorm:delete").Register("lt:b", before))
	must(cb.Delete().After("gorm:delete").Register("lt:a", after))
	must(cb.Row().Before("gorm:row").Register("lt:b", before))
	must(cb.Row().After("gorm:row").Register("lt:a", after))
	must(cb.Raw().Before("gorm:raw").Register("lt:b", before))
	must(cb.Raw().After("gorm:raw").Register("lt:a", after))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

type rcv struct {
	mu sync.Mutex
	ch chan time.Time
}

func (r *rcv) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	_, _ = io.Copy(io.Discard, req.Body)
	w.WriteHeader(204)
	r.mu.Lock()
	ch := r.ch
	r.mu.Unlock()
	select {
	case ch <- at:
	default:
	}
}

func main() {
	url := flag.String("database", "", "")
	n := flag.Int("n", 30, "changes")
	verbose := flag.Int("show", 2, "changes to print in full")
	label := flag.String("label", "", "")
	gap := flag.Duration("gap", 100*time.Millisecond, "pause before each change")
	flag.Parse()
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := models.Open(*url)
	must(err)
	must(db.Migrate(ctx, log))
	bg, err := db.Pool(10)
	must(err)
	// Only this run's endpoint: the others are long gone.
	must(db.Exec("UPDATE webhook_endpoints SET enabled = false, deleted_at = ? WHERE deleted_at IS NULL", time.Now().UTC().Add(-3*time.Hour)).Error)
	// Their pending deliveries FAILED, through the webhooks package's
	// transition, as deleting an endpoint does: no package but webhooks
	// writes delivery rows.
	var stale []int64
	must(db.Raw("SELECT DISTINCT endpoint_id FROM webhook_deliveries WHERE status = ?", webhooks.StatusPending).Scan(&stale).Error)
	must(db.Transaction(func(tx *gorm.DB) error {
		for _, id := range stale {
			if _, err := webhooks.NewDeliveries(db.Dialect).Fail(tx, id, time.Now().UTC()); err != nil {
				return err
			}
		}
		return nil
	}))
	var delivered, agent int64
	must(db.Raw("SELECT COUNT(*) FROM webhook_deliveries").Scan(&delivered).Error)
	must(db.Raw("SELECT MAX(id) FROM agents").Scan(&agent).Error)
	install(db, "srv")
	if bg.DB != db.DB {
		install(bg, "dsp")
	}
	lb := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	outbox := webhooks.NewOutbox(models.Now)
	svc := calling.New(db, outbox, log, calling.WithAllowedCIDRs(lb))
	d, err := webhooks.NewDispatcher(bg, outbox, webhooks.Config{AllowedCIDRs: lb, Logger: log,
		Registerer: prometheus.NewRegistry(), RetrySchedule: []time.Duration{time.Second}})
	must(err)
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = d.Run(dctx) }()
	defer func() { stop(); <-done }()
	_, token, err := svc.CreateAPIToken(ctx, calling.Actor{Name: "lattrace", Role: calling.RoleAdmin}, calling.CreateAPITokenInput{Name: fmt.Sprintf("lattrace-%d", time.Now().UnixNano()), Role: calling.RoleAdmin})
	must(err)
	listen := func(h http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		must(err)
		go func() { _ = http.Serve(ln, h) }()
		return "http://" + ln.Addr().String()
	}
	gql := listen(resolvers.NewHandler(resolvers.Config{Service: svc, Log: log, RequestTimeout: time.Minute})) + "/graphql"
	r := &rcv{ch: make(chan time.Time, 1)}
	rurl := listen(r)
	client := &http.Client{}
	post := func(q string, vars map[string]any) {
		body, _ := json.Marshal(map[string]any{"query": q, "variables": vars})
		req, _ := http.NewRequest("POST", gql, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		must(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || bytes.Contains(b, []byte(`"errors"`)) {
			panic(string(b))
		}
	}
	post(`mutation($url: String!) { createWebhookEndpoint(input: {url: $url, eventTypes: [AGENT_CALLING_ABILITY_CHANGED]}) { secret } }`, map[string]any{"url": rurl + "/"})
	id := calling.GlobalID(calling.KindAgent, agent)
	// warm up
	for i := range 3 {
		post(`mutation($id: ID!, $on: Boolean!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: $on}) { agent { id } } }`, map[string]any{"id": id, "on": i%2 == 1})
		select {
		case <-r.ch:
		case <-time.After(5 * time.Second):
		}
	}
	var total, answer, after []time.Duration
	var dspCount []int
	perSQL := map[string][]time.Duration{}
	for i := range *n {
		time.Sleep(*gap)
		mu.Lock()
		tracing, stmts = true, nil
		mu.Unlock()
		start := time.Now()
		post(`mutation($id: ID!, $on: Boolean!) { updateAgent(input: {id: $id, unifiedRoutingEnabled: $on}) { agent { id } } }`, map[string]any{"id": id, "on": i%2 == 0})
		ans := time.Now()
		var arrived time.Time
		select {
		case arrived = <-r.ch:
		case <-time.After(time.Minute):
			panic("no webhook")
		}
		mu.Lock()
		tracing = false
		ss := stmts
		mu.Unlock()
		total = append(total, arrived.Sub(start))
		answer = append(answer, ans.Sub(start))
		after = append(after, arrived.Sub(ans))
		c := 0
		for _, s := range ss {
			if s.pool == "dsp" && s.start.Before(arrived) {
				c++
			}
			k := s.pool + " " + shape(s.sql)
			perSQL[k] = append(perSQL[k], s.end.Sub(s.start))
		}
		dspCount = append(dspCount, c)
		if i < *verbose {
			fmt.Printf("--- change %d: answer %v, webhook %v after start\n", i, ans.Sub(start), arrived.Sub(start))
			for _, s := range ss {
				if s.start.After(arrived) {
					continue
				}
				fmt.Printf("%s %8.2f–%8.2f ms  %s\n", s.pool, ms(s.start.Sub(start)), ms(s.end.Sub(start)), s.sql)
			}
			fmt.Printf("%s %8.2f ms answer; %8.2f ms webhook arrives\n", "   ", ms(ans.Sub(start)), ms(arrived.Sub(start)))
		}
	}
	p := func(d []time.Duration) string {
		d = slices.Clone(d)
		slices.Sort(d)
		return fmt.Sprintf("p50 %.2f ms p90 %.2f ms", ms(d[len(d)/2]), ms(d[len(d)*9/10]))
	}
	slices.Sort(dspCount)
	fmt.Printf("%s: %d deliveries stored, %d changes: change→webhook %s | mutation answer %s | answer→webhook %s | dispatcher statements before the webhook p50 %d\n",
		*label, delivered, *n, p(total), p(answer), p(after), dspCount[len(dspCount)/2])
	keys := make([]string, 0, len(perSQL))
	for k := range perSQL {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Printf("  %4d× %s  %s\n", len(perSQL[k]), p(perSQL[k]), k)
	}
	_ = os.Stdout.Sync()
}

func shape(s string) string {
	if i := strings.IndexAny(s, "(0123456789'"); i > 40 {
		s = s[:i]
	}
	if len(s) > 70 {
		s = s[:70]
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
