package resolvers

import (
	"context"

	"outdial/calling"
	"outdial/graph/model"
	"outdial/models"
)

func agentKey(a *models.Agent) int64              { return a.ID }
func phoneNumberKey(n *models.PhoneNumber) int64  { return n.ID }
func queueKey(q *models.Queue) int64              { return q.ID }
func capacityKey(c *models.CapacityProfile) int64 { return c.ID }
func profileKey(p *models.OutboundProfile) int64  { return p.ID }
func auditKey(e *models.AuditEntry) int64         { return e.ID }
func tokenKey(t *models.APIToken) int64           { return t.ID }

// edges pairs each node of pg with its cursor.
func edges[N, E any](pg page[N], edge func(cursor string, n *N) *E) []*E {
	out := make([]*E, len(pg.nodes))
	for i, n := range pg.nodes {
		out[i] = edge(pg.cursors[i], n)
	}
	return out
}

func agentConnection(pg page[model.Agent], total int) *model.AgentConnection {
	return &model.AgentConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: total,
		Edges: edges(pg, func(c string, n *model.Agent) *model.AgentEdge { return &model.AgentEdge{Cursor: c, Node: n} })}
}

// listPage runs one page (and, when selected, the count) of a list.
func listPage[R, N any](ctx context.Context, l calling.Lister[R], first *int, after *string,
	key func(*R) int64, conv func(*R) *N) (page[N], int, error) {
	list := listOf(ctx, 0)
	p, err := pageArgs(list, first, after)
	if err != nil {
		return page[N]{}, 0, err
	}
	var rows []R
	var hasNext bool
	if wantsPage(ctx) {
		if rows, hasNext, err = l.Page(p); err != nil {
			return page[N]{}, 0, argumentError(err)
		}
	}
	n, err := total(ctx, l.Count)
	return newPage(list, rows, hasNext, p, key, conv), n, argumentError(err)
}

func (r *queryResolver) Viewer(ctx context.Context) (*model.Viewer, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return nil, err
	}
	v := &model.Viewer{Role: model.Role(a.Role), AgentID: a.AgentID}
	if a.TokenID != 0 {
		v.TokenID = &a.TokenID
	}
	return v, nil
}

func (r *queryResolver) PhoneNumbers(ctx context.Context, first *int, after *string, filter *model.PhoneNumberFilter) (*model.PhoneNumberConnection, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	var f calling.PhoneNumberFilter
	if filter != nil {
		f = calling.PhoneNumberFilter{CanMakeCalls: filter.CanMakeCalls.Value(), InUse: filter.InUse.Value(), Search: filter.Search.Value()}
		if t := filter.Type.Value(); t != nil {
			s := string(*t)
			f.Type = &s
		}
	}
	pg, n, err := listPage(ctx, r.svc.PhoneNumbers(ctx, f), first, after, phoneNumberKey, toPhoneNumber)
	if err != nil {
		return nil, err
	}
	return &model.PhoneNumberConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.PhoneNumber) *model.PhoneNumberEdge {
			return &model.PhoneNumberEdge{Cursor: c, Node: n}
		})}, nil
}

func (r *queryResolver) Queues(ctx context.Context, first *int, after *string, filter *model.QueueFilter) (*model.QueueConnection, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	var f calling.QueueFilter
	if filter != nil {
		f.Search = filter.Search.Value()
		if c := filter.Channel.Value(); c != nil {
			s := string(*c)
			f.Channel = &s
		}
	}
	pg, n, err := listPage(ctx, r.svc.Queues(ctx, f), first, after, queueKey, toQueue)
	if err != nil {
		return nil, err
	}
	return &model.QueueConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.Queue) *model.QueueEdge { return &model.QueueEdge{Cursor: c, Node: n} })}, nil
}

func (r *queryResolver) CapacityProfiles(ctx context.Context, first *int, after *string) (*model.CapacityProfileConnection, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	pg, n, err := listPage(ctx, r.svc.CapacityProfiles(ctx), first, after, capacityKey, toCapacityProfile)
	if err != nil {
		return nil, err
	}
	return &model.CapacityProfileConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.CapacityProfile) *model.CapacityProfileEdge {
			return &model.CapacityProfileEdge{Cursor: c, Node: n}
		})}, nil
}

func (r *queryResolver) OutboundProfiles(ctx context.Context, first *int, after *string) (*model.OutboundProfileConnection, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	pg, n, err := listPage(ctx, r.svc.OutboundProfiles(ctx), first, after, profileKey, toOutboundProfile)
	if err != nil {
		return nil, err
	}
	return &model.OutboundProfileConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.OutboundProfile) *model.OutboundProfileEdge {
			return &model.OutboundProfileEdge{Cursor: c, Node: n}
		})}, nil
}

func (r *queryResolver) Agents(ctx context.Context, first *int, after *string, filter *model.AgentFilter) (*model.AgentConnection, error) {
	a, err := requireActor(ctx)
	if err != nil {
		return nil, err
	}
	f, err := agentFilter(filter)
	if err != nil {
		return nil, err
	}
	if a.Role == calling.RoleAgent {
		f.OnlyAgentID = a.AgentID
	}
	pg, n, err := listPage(ctx, r.svc.Agents(ctx, f), first, after, agentKey, loadersFrom(ctx).toAgent)
	if err != nil {
		return nil, err
	}
	if err := prefetchAgents(ctx, r.svc, pg.nodes); err != nil {
		return nil, err
	}
	return agentConnection(pg, n), nil
}

// agentFilter decodes an AgentFilter.
func agentFilter(in *model.AgentFilter) (calling.AgentFilter, error) {
	var f calling.AgentFilter
	if in == nil {
		return f, nil
	}
	f.CanMakeCalls, f.Search = in.CanMakeCalls.Value(), in.Search.Value()
	if b := in.Blocker.Value(); b != nil {
		code := calling.BlockerCode(*b)
		f.Blocker = &code
	}
	if w := in.Warning.Value(); w != nil {
		code := calling.WarningCode(*w)
		f.Warning = &code
	}
	var err error
	if f.QueueID, err = optionalID(calling.KindQueue, in.QueueID.Value(), "filter.queueId"); err != nil {
		return f, err
	}
	f.CapacityProfileID, err = optionalID(calling.KindCapacityProfile, in.CapacityProfileID.Value(), "filter.capacityProfileId")
	return f, err
}

func (r *queryResolver) Agent(ctx context.Context, id *string, email *string) (*model.Agent, error) {
	if _, err := requireActor(ctx); err != nil {
		return nil, err
	}
	if (id == nil) == (email == nil) {
		return nil, badInput("Give exactly one of id and email.")
	}
	if id != nil {
		dbID, err := decodeID(calling.KindAgent, *id, "id")
		if err != nil {
			return nil, err
		}
		a, err := loadersFrom(ctx).agent.Load(ctx, dbID)
		return visibleAgent(ctx, loadersFrom(ctx).toAgent(a)), err
	}
	a, err := r.svc.AgentByEmail(ctx, *email)
	return visibleAgent(ctx, loadersFrom(ctx).toAgent(a)), argumentError(err)
}

func (r *queryResolver) CallingSummary(ctx context.Context) (*model.CallingSummary, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	s, err := r.svc.CallingSummary(ctx)
	if err != nil {
		return nil, err
	}
	out := &model.CallingSummary{Agents: s.Agents, AgentsCanMakeCalls: s.AgentsCanMakeCalls,
		PhoneNumbers: s.PhoneNumbers, PhoneNumbersCanMakeCalls: s.PhoneNumbersCanMakeCalls,
		OutboundProfiles: s.OutboundProfiles, Blockers: []*model.BlockerCount{}, Warnings: []*model.WarningCount{}}
	for _, w := range s.Warnings {
		out.Warnings = append(out.Warnings, &model.WarningCount{Code: model.CallingWarningCode(w.Code), Agents: w.Agents})
	}
	for _, b := range s.Blockers {
		out.Blockers = append(out.Blockers, &model.BlockerCount{Code: model.CallingBlockerCode(b.Code), Agents: b.Agents})
	}
	return out, nil
}

func (r *queryResolver) AuditLog(ctx context.Context, first *int, after *string, filter *model.AuditLogFilter) (*model.AuditEntryConnection, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	var f calling.AuditFilter
	if filter != nil {
		f = calling.AuditFilter{TargetID: filter.TargetID.Value(), Action: filter.Action.Value()}
	}
	pg, n, err := listPage(ctx, r.svc.AuditLog(ctx, f), first, after, auditKey, toAuditEntry)
	if err != nil {
		return nil, err
	}
	return &model.AuditEntryConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.AuditEntry) *model.AuditEntryEdge {
			return &model.AuditEntryEdge{Cursor: c, Node: n}
		})}, nil
}

func (r *queryResolver) APITokens(ctx context.Context, first *int, after *string) (*model.APITokenConnection, error) {
	if _, err := reader(ctx); err != nil {
		return nil, err
	}
	pg, n, err := listPage(ctx, r.svc.APITokens(ctx), first, after, tokenKey, toAPIToken)
	if err != nil {
		return nil, err
	}
	return &model.APITokenConnection{Nodes: pg.nodes, PageInfo: pg.pageInfo, TotalCount: n,
		Edges: edges(pg, func(c string, n *model.APIToken) *model.APITokenEdge { return &model.APITokenEdge{Cursor: c, Node: n} })}, nil
}

// decodeID decodes a global ID of kind given in argument field, or returns
// BAD_USER_INPUT.
func decodeID(kind calling.Kind, id, field string) (int64, error) {
	dbID, err := calling.ParseID(kind, id)
	if err != nil {
		return 0, badInput("%s is not a valid %s ID.", field, kind)
	}
	return dbID, nil
}

// optionalID decodes a nullable global ID.
func optionalID(kind calling.Kind, id *string, field string) (*int64, error) {
	if id == nil {
		return nil, nil
	}
	dbID, err := decodeID(kind, *id, field)
	return &dbID, err
}

// decodeIDs decodes a list of global IDs of one kind (at most 1000).
func decodeIDs(kind calling.Kind, ids []string, field string) ([]int64, error) {
	if len(ids) > calling.MaxListLen {
		return nil, badInput("%s has %d IDs; at most %d are allowed.", field, len(ids), calling.MaxListLen)
	}
	out := make([]int64, len(ids))
	for i, id := range ids {
		var err error
		if out[i], err = decodeID(kind, id, field); err != nil {
			return nil, err
		}
	}
	return out, nil
}
