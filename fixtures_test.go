package main

import (
	"testing"

	"outdial/internal/testenv"
)

// The fixtures of testenv under the names of the root package's tests.

func (e *testEnv) queueID(name, channel string) string {
	e.t.Helper()
	return e.QueueID(name, channel)
}

func (e *testEnv) capacityID(name string) string {
	e.t.Helper()
	return e.CapacityID(name)
}

func (e *testEnv) profileID(name, queue, capacity string, numbers []string, isDefault bool) string {
	e.t.Helper()
	return e.ProfileID(name, queue, capacity, numbers, isDefault)
}

func (e *testEnv) join(queue, capacity string, agents ...string) {
	e.t.Helper()
	e.Join(queue, capacity, agents...)
}

func (e *testEnv) assign(agent, number string) {
	e.t.Helper()
	e.Assign(agent, number)
}

func (e *testEnv) token(name, role, agent string) (id, value string) {
	e.t.Helper()
	return e.Token(name, role, agent)
}

func (e *testEnv) staleQueueID() string {
	e.t.Helper()
	return e.StaleQueueID()
}

func requireNoData(t *testing.T, r gqlResponse) {
	t.Helper()
	testenv.RequireNoData(t, testenv.Response(r))
}

type auditEntry = testenv.AuditEntry

func (e *testEnv) auditLog(filter map[string]any) (entries []auditEntry, total int) {
	e.t.Helper()
	return e.AuditLog(filter)
}

func (e *testEnv) agentIDs(filter map[string]any) ([]string, int) {
	e.t.Helper()
	return e.AgentIDs(filter)
}

func sameSet(a, b []string) bool { return testenv.SameSet(a, b) }
