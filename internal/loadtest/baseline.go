package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"outdial/calling"
	"outdial/models"
)

// Baseline is the hand-written net/http handler that the GraphQL handler
// is measured against: it answers AgentsQuery (and only it) with the SQL
// statements the resolvers run for it, in the same order of levels, and
// encodes the same JSON. It authenticates like the GraphQL handler (the
// same token lookup, lastUsedAt included) and reads the request body, but
// has no parser, validation, field collection, dataloader or per-field
// goroutine: what is left is the cost of the SQL and of the JSON.
type Baseline struct {
	svc   *calling.Service
	log   *slog.Logger
	first int
}

// NewBaseline returns the baseline handler over svc, serving pages of
// PageSize agents.
func NewBaseline(svc *calling.Service, log *slog.Logger) *Baseline {
	return &Baseline{svc: svc, log: log, first: PageSize}
}

// The answer, field for field and key for key the selection of AgentsQuery.
type (
	baselineResponse struct {
		Data struct {
			Agents struct {
				Nodes []agentNode `json:"nodes"`
			} `json:"agents"`
		} `json:"data"`
	}
	agentNode struct {
		Queues           []named     `json:"queues"`
		CapacityProfiles []named     `json:"capacityProfiles"`
		PersonalNumber   *e164       `json:"personalNumber"`
		CallingAbility   abilityNode `json:"callingAbility"`
	}
	abilityNode struct {
		CallerIDs []callerIDNode `json:"callerIds"`
	}
	callerIDNode struct {
		PhoneNumber     e164  `json:"phoneNumber"`
		OutboundProfile named `json:"outboundProfile"`
	}
	named struct {
		Name string `json:"name"`
	}
	e164 struct {
		E164 string `json:"e164"`
	}
)

// ServeHTTP answers a POST of AgentsQuery.
func (b *Baseline) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		http.Error(w, "the body is not a GraphQL request", http.StatusBadRequest)
		return
	}
	actor, err := b.svc.Authenticate(r.Context(), bearer(r.Header.Get("Authorization")))
	if errors.Is(err, calling.ErrUnauthenticated) {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	var resp any
	if err == nil {
		resp, err = b.answer(r, actor)
	}
	if err != nil {
		b.log.Error("baseline agents page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

// answer runs the statements of the request's path: /graphql the agents
// page (AgentsQuery); /search?q= the agents whose name or email holds q,
// with their count; /count?queue= or ?capacity= the members of a queue
// or capacity profile; /summary the figures of callingSummary.
func (b *Baseline) answer(r *http.Request, actor calling.Actor) (any, error) {
	ctx, q := r.Context(), r.URL.Query()
	switch r.URL.Path {
	case "/search":
		search := q.Get("q")
		l := b.svc.Agents(ctx, calling.AgentFilter{Search: &search})
		page, _, err := l.Page(calling.Page{First: PageSize})
		if err != nil {
			return nil, err
		}
		n, err := l.Count()
		if err != nil {
			return nil, err
		}
		type node struct {
			Email string `json:"email"`
		}
		nodes := make([]node, len(page))
		for i, a := range page {
			nodes[i].Email = a.Email
		}
		return baselineData(map[string]any{"totalCount": n, "nodes": nodes}), nil
	case "/count":
		var f calling.AgentFilter
		if id, err := strconv.ParseInt(q.Get("queue"), 10, 64); err == nil {
			f.QueueID = &id
		}
		if id, err := strconv.ParseInt(q.Get("capacity"), 10, 64); err == nil {
			f.CapacityProfileID = &id
		}
		n, err := b.svc.Agents(ctx, f).Count()
		return baselineData(map[string]any{"totalCount": n}), err
	case "/summary":
		s, err := b.svc.CallingSummary(ctx)
		return baselineData(map[string]any{"agents": s.Agents, "agentsCanMakeCalls": s.AgentsCanMakeCalls,
			"blockers": s.Blockers, "phoneNumbers": s.PhoneNumbers, "phoneNumbersCanMakeCalls": s.PhoneNumbersCanMakeCalls,
			"outboundProfiles": s.OutboundProfiles}), err
	}
	var resp baselineResponse
	var err error
	resp.Data.Agents.Nodes, err = b.agents(ctx, actor)
	return resp, err
}

// baselineData wraps the data of an answer.
func baselineData(data any) any { return map[string]any{"data": data} }

// bearer extracts the token of an "Authorization: Bearer <token>" value.
func bearer(header string) string {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// agents runs, level by level, the statements the dataloaders run for
// AgentsQuery: the page; the queues, capacity profiles, personal numbers
// and abilities of its agents; then the caller IDs' numbers (those not
// loaded as personal numbers already) and outbound profiles.
func (b *Baseline) agents(ctx context.Context, actor calling.Actor) ([]agentNode, error) {
	var f calling.AgentFilter
	if actor.Role == calling.RoleAgent {
		f.OnlyAgentID = actor.AgentID
	}
	agents, _, err := b.svc.Agents(ctx, f).Page(calling.Page{First: b.first})
	if err != nil || len(agents) == 0 {
		return []agentNode{}, err
	}
	ids := make([]int64, len(agents))
	var personal []int64
	for i, a := range agents {
		ids[i] = a.ID
		if a.PersonalNumberID != nil {
			personal = append(personal, *a.PersonalNumberID)
		}
	}
	queues, err := b.svc.QueuesOfAgents(ctx, ids)
	if err != nil {
		return nil, err
	}
	capacities, err := b.svc.CapacityProfilesOfAgents(ctx, ids)
	if err != nil {
		return nil, err
	}
	numbers := map[int64]*models.PhoneNumber{}
	if err := loadInto(ctx, numbers, personal, b.svc.PhoneNumbersByID); err != nil {
		return nil, err
	}
	rows, err := b.svc.AbilitiesByAgentID(ctx, ids)
	if err != nil {
		return nil, err
	}
	abilities := make([]calling.Ability, len(rows))
	var numberIDs, profileIDs []int64
	for i, row := range rows {
		if row == nil {
			return nil, fmt.Errorf("agent %d has no stored calling ability", ids[i])
		}
		if err := json.Unmarshal([]byte(row.Snapshot), &abilities[i]); err != nil {
			return nil, fmt.Errorf("decode ability of agent %d: %w", row.AgentID, err)
		}
		for _, c := range abilities[i].CallerIDs {
			if _, loaded := numbers[c.PhoneNumberID]; !loaded {
				numberIDs = append(numberIDs, c.PhoneNumberID)
			}
			profileIDs = append(profileIDs, c.OutboundProfileID)
		}
	}
	if err := loadInto(ctx, numbers, numberIDs, b.svc.PhoneNumbersByID); err != nil {
		return nil, err
	}
	outbound := map[int64]*models.OutboundProfile{}
	if err := loadInto(ctx, outbound, profileIDs, b.svc.OutboundProfilesByID); err != nil {
		return nil, err
	}
	nodes := make([]agentNode, len(agents))
	for i, a := range agents {
		n := &nodes[i]
		n.Queues = names(queues[i], func(q *models.Queue) string { return q.Name })
		n.CapacityProfiles = names(capacities[i], func(c *models.CapacityProfile) string { return c.Name })
		if a.PersonalNumberID != nil {
			if pn := numbers[*a.PersonalNumberID]; pn != nil {
				n.PersonalNumber = &e164{E164: pn.E164}
			}
		}
		n.CallingAbility.CallerIDs = make([]callerIDNode, len(abilities[i].CallerIDs))
		for j, c := range abilities[i].CallerIDs {
			pn, p := numbers[c.PhoneNumberID], outbound[c.OutboundProfileID]
			if pn == nil || p == nil {
				return nil, fmt.Errorf("caller ID %d of profile %d of agent %d no longer exists", c.PhoneNumberID, c.OutboundProfileID, a.ID)
			}
			n.CallingAbility.CallerIDs[j] = callerIDNode{PhoneNumber: e164{E164: pn.E164}, OutboundProfile: named{Name: p.Name}}
		}
	}
	return nodes, nil
}

// loadInto loads the rows of keys not in m yet with fetch (one statement,
// none when there is nothing to load) and adds them to m.
func loadInto[T any](ctx context.Context, m map[int64]*T, keys []int64,
	fetch func(context.Context, []int64) ([]*T, error)) error {
	var missing []int64
	seen := map[int64]bool{}
	for _, k := range keys {
		if _, ok := m[k]; !ok && !seen[k] {
			seen[k] = true
			missing = append(missing, k)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	rows, err := fetch(ctx, missing)
	if err != nil {
		return err
	}
	for i, k := range missing {
		m[k] = rows[i]
	}
	return nil
}

// names returns the names of rows, never nil.
func names[T any](rows []T, name func(*T) string) []named {
	out := make([]named, len(rows))
	for i := range rows {
		out[i] = named{Name: name(&rows[i])}
	}
	return out
}
