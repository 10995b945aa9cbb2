package resolvers

import (
	"context"
	"time"

	"github.com/vikstrous/dataloadgen"

	"outdial/calling"
	"outdial/models"
)

// loaders are the per-request dataloaders: every nested field loads
// through one of them, so a page of n objects costs one statement per
// field, not n.
type loaders struct {
	phoneNumber     *dataloadgen.Loader[int64, *models.PhoneNumber]
	queue           *dataloadgen.Loader[int64, *models.Queue]
	capacityProfile *dataloadgen.Loader[int64, *models.CapacityProfile]
	outboundProfile *dataloadgen.Loader[int64, *models.OutboundProfile]
	agent           *dataloadgen.Loader[int64, *models.Agent]
	apiToken        *dataloadgen.Loader[int64, *models.APIToken]
	ability         *dataloadgen.Loader[int64, *models.CallingAbility]
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
	capacityAgents     *dataloadgen.Loader[memberKey, calling.MemberPage]

	endpoint       *dataloadgen.Loader[int64, *models.WebhookEndpoint]
	endpointAgents *dataloadgen.Loader[int64, []int64]
	delivery       *dataloadgen.Loader[int64, *models.WebhookDelivery]
	event          *dataloadgen.Loader[int64, *models.WebhookEvent]
	attempts       *dataloadgen.Loader[int64, []models.WebhookAttempt]
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

// newLoaders returns the loaders of one request made by actor.
func newLoaders(s *calling.Service, actor calling.Actor) *loaders {
	var onlyAgent *int64
	if actor.Role == calling.RoleAgent {
		onlyAgent = actor.AgentID
		if onlyAgent == nil {
			none := int64(-1)
			onlyAgent = &none
		}
	}
	return &loaders{
		phoneNumber:           newLoader(s.PhoneNumbersByID),
		queue:                 newLoader(s.QueuesByID),
		capacityProfile:       newLoader(s.CapacityProfilesByID),
		outboundProfile:       newLoader(s.OutboundProfilesByID),
		agent:                 newLoader(s.AgentsByID),
		apiToken:              newLoader(s.APITokensByID),
		ability:               newLoader(s.AbilitiesByAgentID),
		personalAgent:         newLoader(s.PersonalAgentsOfNumbers),
		agentQueues:           newLoader(s.QueuesOfAgents),
		agentCapacityProfiles: newLoader(s.CapacityProfilesOfAgents),
		profileNumbers:        newLoader(s.NumbersOfProfiles),
		numberProfiles:        newLoader(s.ProfilesOfNumbers),
		queueProfiles:         newLoader(s.ProfilesOfQueues),
		capacityProfiles:      newLoader(s.ProfilesOfCapacityProfiles),
		queueAgentCount:       newLoader(s.QueueAgentCounts),
		capacityAgentCount:    newLoader(s.CapacityProfileAgentCounts),
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
	}
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
