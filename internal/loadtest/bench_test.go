package loadtest

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"outdial/models/dbtest"
)

// TestBenchShort runs the scale benchmark (cmd/outdial-bench) on a small
// organisation, on SQLite or, with TEST_MYSQL_URL, MariaDB: every scenario
// must run and every answer be right. It asserts nothing about speed.
func TestBenchShort(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := RunBench(ctx, BenchConfig{DatabaseURL: dbtest.URL(t), Agents: 300, Profiles: 5,
		Concurrency: 2, Duration: 100 * time.Millisecond, Latencies: 3, History: 7000})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out)
	t.Log("\n" + out.String())
	if rep.Failed() {
		t.Fatal("a scenario failed")
	}
	for _, want := range []string{"agents(first:100)", "search", "queueId", "capacityProfileId", "callingSummary",
		"changing 6 abilities", "changing 30 abilities", "changing 300 abilities", "its 300 webhooks", "one-agent change to its webhook", "delivered webhooks stored"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no scenario %q in the table", want)
		}
	}
}

// TestMatchingAgents counts the emails of the organisation that hold a
// search, as the search scenario expects.
func TestMatchingAgents(t *testing.T) {
	for _, c := range []struct {
		n    int
		s    string
		want int
	}{{100_000, "agent9999", 11}, {10_000, "agent9999", 1}, {500, "agent9999", 0}, {300, "agent1", 111}} {
		if got := MatchingAgents(c.n, c.s); got != c.want {
			t.Errorf("MatchingAgents(%d, %q) = %d, want %d", c.n, c.s, got, c.want)
		}
	}
}
