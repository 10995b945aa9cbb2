package resolvers

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"outdial/calling"
	"outdial/graph/model"
	"outdial/models"
)

// loaders are the per-request dataloaders: every nested field loads
// through one of them, so a page of n objects costs one statement per
// field, not n.
type loaders struct {
	ctx context.Context // the request's

	phoneNumber     *dataloadgen.Loader[int64, *models.PhoneNumber]
	queue           *dataloadgen.Loader[int64, *models.Queue]
	capacityProfile *dataloadgen.Loader[int64, *models.CapacityProfile]
	outboundProfile *dataloadgen.Loader[int64, *models.OutboundProfile]
	agent           *dataloadgen.Loader[int64, *models.Agent]
	apiToken        *dataloadgen.Loader[int64, *models.APIToken]
	ability         *dataloadgen.Loader[int64, *model.CallingAbility]
	personalAgent   *dataloadgen.Loader[int64, *models.Agent]

	agentQueues           *dataloadgen.Loader[int64, []models.Queue]
	agentCapacityProfiles *dataloadgen.Loader[int64, []models.CapacityProfile]
	profileNumbers        *dataloadgen.Loader[int64, []models.PhoneNumber]
	numberProfiles        *dataloadgen.Loader[int64, []models.OutboundProfile]
	queueProfiles         *dataloadgen.Loader[int64, []models.OutboundProfile]
	capacityProfiles      *dataloadgen.Loader[int64, []models.OutboundProfile]

	queueAgentCount    *dataloadgen.Loader[int64, int]
	capacityAgentCount *dataloadgen.Loader[int64, int]
	queueAgents        *dataloadgen.Loader[memberKey, calling.MemberPage]
	history            *dataloadgen.Loader[memberKey, calling.HistoryPage]
	historyCount       *dataloadgen.Loader[int64, int]
	capacityAgents     *dataloadgen.Loader[memberKey, calling.MemberPage]

	endpoint       *dataloadgen.Loader[int64, *models.WebhookEndpoint]
	endpointAgents *dataloadgen.Loader[int64, []int64]
	delivery       *dataloadgen.Loader[int64, *models.WebhookDelivery]
	event          *dataloadgen.Loader[int64, *models.WebhookEvent]
	attempts       *dataloadgen.Loader[int64, []models.WebhookAttempt]
	auditEntry     *dataloadgen.Loader[int64, *models.AuditEntry]

	endpointDeliveries     *dataloadgen.Loader[deliveriesKey, calling.DeliveryPage]
	endpointDeliveryCounts *dataloadgen.Loader[deliveriesKey, int]
	// The batch reads of the two loaders above, for prefetchEndpoints.
	fetchEndpointDeliveries     func(context.Context, []deliveriesKey) ([]calling.DeliveryPage, error)
	fetchEndpointDeliveryCounts func(context.Context, []deliveriesKey) ([]int, error)
}

// deliveriesKey names one page (Page zero for a count) of an endpoint's
// deliveries with a status filter ("": any).
type deliveriesKey struct {
	endpoint int64
	page     calling.Page
	status   string
}

// memberKey names one page of the members of a queue or capacity profile.
type memberKey struct {
	owner int64
	page  calling.Page
}

// loaderWait is how long a loader collects keys before it fetches: long
// enough for sibling fields resolved in parallel, short enough to add
// little latency per nesting level.
const loaderWait = 500 * time.Microsecond

// newLoader wraps a batch read as a dataloader.
func newLoader[K comparable, V any](fetch func(context.Context, []K) ([]V, error)) *dataloadgen.Loader[K, V] {
	return dataloadgen.NewLoader(func(ctx context.Context, keys []K) ([]V, []error) {
		vs, err := fetch(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		return vs, nil
	}, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(calling.MaxListLen))
}

// newLoaders returns the loaders of one request made by actor; their
// statements run under ctx.
func newLoaders(ctx context.Context, s *calling.Service, actor calling.Actor) *loaders {
	var onlyAgent *int64
	if actor.Role == calling.RoleAgent {
		onlyAgent = actor.AgentID
		if onlyAgent == nil {
			none := int64(-1)
			onlyAgent = &none
		}
	}
	l := &loaders{
		ctx:             ctx,
		phoneNumber:     newLoader(s.PhoneNumbersByID),
		queue:           newLoader(s.QueuesByID),
		capacityProfile: newLoader(s.CapacityProfilesByID),
		outboundProfile: newLoader(s.OutboundProfilesByID),
		agent:           newLoader(s.AgentsByID),
		apiToken:        newLoader(s.APITokensByID),

		personalAgent:         newLoader(s.PersonalAgentsOfNumbers),
		agentQueues:           newLoader(s.QueuesOfAgents),
		agentCapacityProfiles: newLoader(s.CapacityProfilesOfAgents),
		profileNumbers:        newLoader(s.NumbersOfProfiles),
		numberProfiles:        newLoader(s.ProfilesOfNumbers),
		queueProfiles:         newLoader(s.ProfilesOfQueues),
		capacityProfiles:      newLoader(s.ProfilesOfCapacityProfiles),
		queueAgentCount:       newLoader(s.QueueAgentCounts),
		capacityAgentCount:    newLoader(s.CapacityProfileAgentCounts),
		history: newLoader(func(ctx context.Context, keys []memberKey) ([]calling.HistoryPage, error) {
			return historyPages(ctx, keys, s.AbilityHistories)
		}),
		historyCount: newLoader(s.AbilityVersionCounts),
		queueAgents: newLoader(func(ctx context.Context, keys []memberKey) ([]calling.MemberPage, error) {
			return memberPages(ctx, keys, onlyAgent, s.AgentsOfQueues)
		}),
		capacityAgents: newLoader(func(ctx context.Context, keys []memberKey) ([]calling.MemberPage, error) {
			return memberPages(ctx, keys, onlyAgent, s.AgentsOfCapacityProfiles)
		}),
		endpoint:       newLoader(s.WebhookEndpointsByID),
		endpointAgents: newLoader(s.AgentsOfEndpoints),
		delivery:       newLoader(s.WebhookDeliveriesByID),
		event:          newLoader(s.WebhookEventsByID),
		attempts:       newLoader(s.AttemptsOfDeliveries),
		auditEntry:     newLoader(s.AuditEntriesByID),
		fetchEndpointDeliveries: func(ctx context.Context, keys []deliveriesKey) ([]calling.DeliveryPage, error) {
			return byDeliveryFilter(ctx, keys, onlyAgent, func(ids []int64, k deliveriesKey, f calling.DeliveryFilter) ([]calling.DeliveryPage, error) {
				return s.DeliveriesOfEndpoints(ctx, ids, k.page, f)
			})
		},
		fetchEndpointDeliveryCounts: func(ctx context.Context, keys []deliveriesKey) ([]int, error) {
			return byDeliveryFilter(ctx, keys, onlyAgent, func(ids []int64, _ deliveriesKey, f calling.DeliveryFilter) ([]int, error) {
				return s.CountDeliveriesOfEndpoints(ctx, ids, f)
			})
		},
	}
	l.endpointDeliveries = newLoader(l.fetchEndpointDeliveries)
	l.endpointDeliveryCounts = newLoader(l.fetchEndpointDeliveryCounts)
	l.ability = l.newAbilityLoader(s)
	return l
}

// newAbilityLoader returns the loader of stored abilities, decoded: an
// ability that cannot be decoded is an error for its agent only, and nil
// stands for an agent without a stored ability.
func (l *loaders) newAbilityLoader(s *calling.Service) *dataloadgen.Loader[int64, *model.CallingAbility] {
	return dataloadgen.NewLoader(func(ctx context.Context, keys []int64) ([]*model.CallingAbility, []error) {
		rows, err := s.AbilitiesByAgentID(ctx, keys)
		if err != nil {
			return nil, []error{err}
		}
		out, errs := make([]*model.CallingAbility, len(keys)), make([]error, len(keys))
		for i, row := range rows {
			if row != nil {
				out[i], errs[i] = toCallingAbility(row, l)
			}
		}
		return out, errs
	}, dataloadgen.WithWait(loaderWait), dataloadgen.WithBatchCapacity(calling.MaxListLen))
}

// byDeliveryFilter fetches keys with one call of fetch per distinct page
// and status (usually one: siblings share their arguments).
func byDeliveryFilter[V any](ctx context.Context, keys []deliveriesKey, onlyAgent *int64,
	fetch func(ids []int64, k deliveriesKey, f calling.DeliveryFilter) ([]V, error)) ([]V, error) {
	groups := map[deliveriesKey][]int{}
	for i, k := range keys {
		g := deliveriesKey{page: k.page, status: k.status}
		groups[g] = append(groups[g], i)
	}
	out := make([]V, len(keys))
	for g, idx := range groups {
		ids := make([]int64, len(idx))
		for j, i := range idx {
			ids[j] = keys[i].endpoint
		}
		f := calling.DeliveryFilter{OnlyAgent: onlyAgent}
		if g.status != "" {
			f.Status = &g.status
		}
		vs, err := fetch(ids, g, f)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = vs[j]
		}
	}
	return out, nil
}

type pagesFunc func(ctx context.Context, owners []int64, p calling.Page, onlyAgent *int64) ([]calling.MemberPage, error)

// memberPages fetches the pages of keys with one statement per distinct
// page request (usually one: siblings share their arguments).
func memberPages(ctx context.Context, keys []memberKey, onlyAgent *int64, fetch pagesFunc) ([]calling.MemberPage, error) {
	byPage := map[calling.Page][]int{}
	for i, k := range keys {
		byPage[k.page] = append(byPage[k.page], i)
	}
	out := make([]calling.MemberPage, len(keys))
	for p, idx := range byPage {
		owners := make([]int64, len(idx))
		for j, i := range idx {
			owners[j] = keys[i].owner
		}
		pages, err := fetch(ctx, owners, p, onlyAgent)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = pages[j]
		}
	}
	return out, nil
}

// historyPages fetches the history pages of keys with one statement per
// distinct page request.
func historyPages(ctx context.Context, keys []memberKey,
	fetch func(context.Context, []int64, calling.Page) ([]calling.HistoryPage, error)) ([]calling.HistoryPage, error) {
	byPage := map[calling.Page][]int{}
	for i, k := range keys {
		byPage[k.page] = append(byPage[k.page], i)
	}
	out := make([]calling.HistoryPage, len(keys))
	for p, idx := range byPage {
		owners := make([]int64, len(idx))
		for j, i := range idx {
			owners[j] = keys[i].owner
		}
		pages, err := fetch(ctx, owners, p)
		if err != nil {
			return nil, err
		}
		for j, i := range idx {
			out[i] = pages[j]
		}
	}
	return out, nil
}

type loadersKey struct{}

// withLoaders returns ctx with the loaders of one HTTP request.
func withLoaders(ctx context.Context, l *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// withLoaderFactory returns ctx for a long-lived connection (a
// subscription): each use gets fresh loaders, so nothing stays cached.
func withLoaderFactory(ctx context.Context, f func() *loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, f)
}

// loadersFrom returns the loaders of ctx.
func loadersFrom(ctx context.Context) *loaders {
	switch l := ctx.Value(loadersKey{}).(type) {
	case *loaders:
		return l
	case func() *loaders:
		return l()
	default:
		panic("resolvers: no loaders in the request context")
	}
}

// requestLoaders returns the loaders of an HTTP request, or false on a
// long-lived connection, whose loaders are not kept.
func requestLoaders(ctx context.Context) (*loaders, bool) {
	l, ok := ctx.Value(loadersKey{}).(*loaders)
	return l, ok
}

// agentFields says which loaders the selection on a list of agents
// reaches.
type agentFields struct {
	queues, capacityProfiles, personalNumber, ability bool
	// The numbers and profiles of the ability's caller IDs, and the
	// profiles of its blockers.
	callerNumbers, callerProfiles, blockerProfiles bool
	// The profiles and numbers of its warnings.
	warningProfiles, warningNumbers bool
	// The first pages of callingAbilityHistory selected (a page after a
	// cursor is left to the loader).
	histories []historySelection
}

// historySelection is one first page of callingAbilityHistory selected on
// a page of agents, and whether its totalCount and its versions' causes
// are selected.
type historySelection struct {
	page          calling.Page
	total, causes bool
}

// selectedAgentFields returns what the operation selects on the agents of
// the connection being resolved, in nodes and in edges.node (fragments,
// aliases and @skip/@include applied).
func selectedAgentFields(ctx context.Context) agentFields {
	op := graphql.GetOperationContext(ctx)
	conn := graphql.CollectFieldsCtx(ctx, []string{"AgentConnection"})
	agents := append(subfields(op, conn, "nodes", "Agent", "Node"),
		subfields(op, subfields(op, conn, "edges", "AgentEdge"), "node", "Agent", "Node")...)
	ability := subfields(op, agents, "callingAbility", "CallingAbility")
	callers := subfields(op, ability, "callerIds", "CallerId")
	blockers := subfields(op, ability, "blockers", "CallingBlocker")
	warnings := subfields(op, ability, "warnings", "CallingWarning")
	var histories []historySelection
	for _, f := range agents {
		if f.Name != "callingAbilityHistory" {
			continue
		}
		p, ok := firstPage(f.ArgumentMap(op.Variables))
		if !ok {
			continue
		}
		conn := graphql.CollectFields(op, f.Selections, []string{"AbilityVersionConnection"})
		versions := append(subfields(op, conn, "nodes", "AbilityVersion"),
			subfields(op, subfields(op, conn, "edges", "AbilityVersionEdge"), "node", "AbilityVersion")...)
		histories = append(histories, historySelection{page: p,
			total: hasField(conn, "totalCount"), causes: hasField(versions, "cause")})
	}
	return agentFields{
		histories:        histories,
		warningProfiles:  hasField(warnings, "outboundProfile"),
		warningNumbers:   hasField(warnings, "phoneNumber"),
		queues:           hasField(agents, "queues"),
		capacityProfiles: hasField(agents, "capacityProfiles"),
		personalNumber:   hasField(agents, "personalNumber"),
		ability:          len(ability) > 0,
		callerNumbers:    hasField(callers, "phoneNumber"),
		callerProfiles:   hasField(callers, "outboundProfile"),
		blockerProfiles:  hasField(blockers, "outboundProfile"),
	}
}

// subfields returns the fields selected below every field called name of
// fields, whose type is one of types.
func subfields(op *graphql.OperationContext, fields []graphql.CollectedField, name string, types ...string) []graphql.CollectedField {
	var out []graphql.CollectedField
	for _, f := range fields {
		if f.Name == name {
			out = append(out, graphql.CollectFields(op, f.Selections, types)...)
		}
	}
	return out
}

// firstPage returns the page that the arguments first and after of a
// connection field ask for, when it is a first page (no after cursor) of
// a valid size; otherwise false, and the field's resolver decodes and
// checks the arguments itself.
func firstPage(args map[string]any) (calling.Page, bool) {
	if after, _ := args["after"].(string); after != "" {
		return calling.Page{}, false
	}
	p := calling.Page{First: calling.DefaultPageSize}
	if v := args["first"]; v != nil {
		n, ok := intArg(v)
		if !ok || checkFirst(n) != nil {
			return p, false
		}
		p.First = n
	}
	return p, true
}

// intArg converts an Int argument as gqlparser returns it (int64, from a
// literal or a coerced variable), or a JSON number.
func intArg(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), int64(int(n)) == n
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil && int64(int(i)) == i
	case float64:
		return int(n), float64(int(n)) == n
	}
	return 0, false
}

func hasField(fields []graphql.CollectedField, name string) bool {
	return slices.ContainsFunc(fields, func(f graphql.CollectedField) bool { return f.Name == name })
}

// prefetchAgents loads what the operation selects on a root page of
// agents, one statement per loader, and primes the loaders with it: the
// field resolvers then find everything in the cache. The statements are
// those the loaders would run, but their number no longer depends on
// whether the resolvers of a hundred sibling agents call Load within the
// loaders' wait (they often do not, and a page then cost a dozen
// statements instead of eight), and the request no longer sleeps for that
// wait at each level.
func prefetchAgents(ctx context.Context, s *calling.Service, agents []*model.Agent) error {
	l, ok := requestLoaders(ctx)
	if !ok || len(agents) == 0 {
		return nil
	}
	want := selectedAgentFields(ctx)
	ids := make([]int64, len(agents))
	var personal []int64
	for i, a := range agents {
		ids[i] = a.DBID
		if a.PersonalNumberID != nil {
			personal = append(personal, *a.PersonalNumberID)
		}
	}
	if want.queues {
		if err := prime(ctx, l.agentQueues, ids, s.QueuesOfAgents); err != nil {
			return err
		}
	}
	if want.capacityProfiles {
		if err := prime(ctx, l.agentCapacityProfiles, ids, s.CapacityProfilesOfAgents); err != nil {
			return err
		}
	}
	// The numbers loaded here are not loaded again for the caller IDs.
	loaded := map[int64]bool{}
	if want.personalNumber && len(personal) > 0 {
		if err := prime(ctx, l.phoneNumber, personal, s.PhoneNumbersByID); err != nil {
			return err
		}
		for _, id := range personal {
			loaded[id] = true
		}
	}
	if err := prefetchHistories(ctx, s, l, ids, want.histories); err != nil {
		return err
	}
	if !want.ability {
		return nil
	}
	rows, err := s.AbilitiesByAgentID(ctx, ids)
	if err != nil {
		return err
	}
	var numbers, profiles []int64
	for i, row := range rows {
		if row == nil {
			l.ability.Prime(ids[i], nil)
			continue
		}
		ab, err := toCallingAbility(row, l)
		if err != nil {
			continue // not primed: the field resolver reports it for this agent
		}
		l.ability.Prime(ids[i], ab)
		for _, c := range ab.CallerIds {
			if want.callerNumbers && !loaded[c.PhoneNumberID] {
				loaded[c.PhoneNumberID] = true
				numbers = append(numbers, c.PhoneNumberID)
			}
			if want.callerProfiles {
				profiles = append(profiles, c.OutboundProfileID)
			}
		}
		for _, b := range ab.Blockers {
			if want.blockerProfiles && b.OutboundProfileID != nil {
				profiles = append(profiles, *b.OutboundProfileID)
			}
		}
		for _, w := range ab.Warnings {
			if want.warningProfiles && w.OutboundProfileID != nil {
				profiles = append(profiles, *w.OutboundProfileID)
			}
			if want.warningNumbers && w.PhoneNumberID != nil && !loaded[*w.PhoneNumberID] {
				loaded[*w.PhoneNumberID] = true
				numbers = append(numbers, *w.PhoneNumberID)
			}
		}
	}
	if len(numbers) > 0 {
		if err := prime(ctx, l.phoneNumber, numbers, s.PhoneNumbersByID); err != nil {
			return err
		}
	}
	if len(profiles) > 0 {
		return prime(ctx, l.outboundProfile, uniqueKeys(profiles), s.OutboundProfilesByID)
	}
	return nil
}

// prefetchHistories loads each distinct first page of the agents'
// histories selected (one statement each), their totalCount (one
// statement) and the audit entries of their causes (one statement), and
// primes the loaders with them.
func prefetchHistories(ctx context.Context, s *calling.Service, l *loaders, ids []int64, hs []historySelection) error {
	pages := map[calling.Page]bool{} // page → its causes are selected
	var order []calling.Page
	counted := false
	for _, h := range hs {
		if h.total && !counted {
			if err := prime(ctx, l.historyCount, ids, s.AbilityVersionCounts); err != nil {
				return err
			}
			counted = true
		}
		if _, ok := pages[h.page]; !ok {
			order = append(order, h.page)
		}
		pages[h.page] = pages[h.page] || h.causes
	}
	var causes []int64
	for _, p := range order {
		hps, err := s.AbilityHistories(ctx, ids, p)
		if err != nil {
			return err
		}
		for i, hp := range hps {
			l.history.Prime(memberKey{owner: ids[i], page: p}, hp)
			for _, v := range hp.Versions {
				if pages[p] && v.AuditEntryID != nil {
					causes = append(causes, *v.AuditEntryID)
				}
			}
		}
	}
	if len(causes) > 0 {
		return prime(ctx, l.auditEntry, uniqueKeys(causes), s.AuditEntriesByID)
	}
	return nil
}

// prefetchEndpoints loads the deliveries that the operation selects on a
// root page of webhook endpoints (each first page and its totalCount, per
// status filter: one statement per distinct page or count) and primes the
// loaders with them, for the reason given at prefetchAgents.
func prefetchEndpoints(ctx context.Context, endpoints []*model.WebhookEndpoint) error {
	l, ok := requestLoaders(ctx)
	if !ok || len(endpoints) == 0 {
		return nil
	}
	op := graphql.GetOperationContext(ctx)
	conn := graphql.CollectFieldsCtx(ctx, []string{"WebhookEndpointConnection"})
	nodes := append(subfields(op, conn, "nodes", "WebhookEndpoint", "Node"),
		subfields(op, subfields(op, conn, "edges", "WebhookEndpointEdge"), "node", "WebhookEndpoint", "Node")...)
	var pages, counts []deliveriesKey
	seen := map[deliveriesKey]bool{}
	for _, f := range nodes {
		if f.Name != "deliveries" {
			continue
		}
		args := f.ArgumentMap(op.Variables)
		status, _ := args["status"].(string) // an enum value, or nil for any status
		if hasField(graphql.CollectFields(op, f.Selections, []string{"WebhookDeliveryConnection"}), "totalCount") {
			if k := (deliveriesKey{status: status}); !seen[k] {
				seen[k] = true
				for _, e := range endpoints {
					counts = append(counts, deliveriesKey{endpoint: e.DBID, status: status})
				}
			}
		}
		p, ok := firstPage(args)
		if k := (deliveriesKey{page: p, status: status}); ok && !seen[k] {
			seen[k] = true
			for _, e := range endpoints {
				pages = append(pages, deliveriesKey{endpoint: e.DBID, page: p, status: status})
			}
		}
	}
	if len(pages) > 0 {
		if err := prime(ctx, l.endpointDeliveries, pages, l.fetchEndpointDeliveries); err != nil {
			return err
		}
	}
	if len(counts) > 0 {
		return prime(ctx, l.endpointDeliveryCounts, counts, l.fetchEndpointDeliveryCounts)
	}
	return nil
}

// prime fetches the values of keys (distinct) with one statement and
// primes loader with them.
func prime[K comparable, V any](ctx context.Context, loader *dataloadgen.Loader[K, V], keys []K,
	fetch func(context.Context, []K) ([]V, error)) error {
	vs, err := fetch(ctx, keys)
	if err != nil {
		return err
	}
	for i, k := range keys {
		loader.Prime(k, vs[i])
	}
	return nil
}

// uniqueKeys returns keys without repetitions.
func uniqueKeys(keys []int64) []int64 {
	out := slices.Clone(keys)
	slices.Sort(out)
	return slices.Compact(out)
}
