package calling

import (
	"container/heap"
	"slices"
	"strings"

	"outdial/models"
)

// MaxImpactChanges is how many agents' diffs an Impact keeps: the first by
// agent email. The counts cover every agent whatever their number, so
// that an impact's memory does not grow with the size of the change.
const MaxImpactChanges = 100

// Impact is what a command did to the agents' calling ability, or, in a
// dry run, would have done (GraphQL AbilityImpact; docs/domain.md,
// "History and impact"). Only agents whose
// ability got a new version count; a change of wording or warnings alone
// is not a change.
type Impact struct {
	// DryRun is true when nothing was written.
	DryRun bool
	// AgentsChanged counts the agents whose ability changed, new agents
	// included; AgentsLosingCalling those who could make calls before and
	// cannot after; AgentsGainingCalling the reverse (a new agent who can
	// call gains).
	AgentsChanged, AgentsLosingCalling, AgentsGainingCalling int
	// Changes are the diffs of the first MaxImpactChanges changed agents,
	// ordered by email (then ID).
	Changes []AbilityDiff
}

// AbilityDiff is one agent's change, self-contained: it names the agent
// and carries both abilities, so it describes objects a dry run never
// created.
type AbilityDiff struct {
	AgentID    int64
	AgentEmail string
	AgentName  string
	// Previous is nil for a new agent.
	Previous *VersionedAbility
	Current  VersionedAbility
	// CallerIDsGained are the E.164 numbers the agent may call from after
	// and not before, CallerIDsLost the reverse; both sorted.
	CallerIDsGained, CallerIDsLost []string
}

// VersionedAbility is an ability with its version.
type VersionedAbility struct {
	Version int64
	Ability Ability
}

// impactCollector builds an Impact while a command refreshes abilities:
// counts for every agent, diffs for the first MaxImpactChanges by email
// (a max-heap that drops the last one when a smaller email comes). One per
// attempt of a command, so that a retried attempt starts from nothing.
type impactCollector struct {
	impact Impact
	first  diffHeap
}

// add records the change of agent a from prev (nil: a new agent) to next
// at version.
func (c *impactCollector) add(a models.Agent, prev *storedAbility, version int64, next Ability) {
	c.impact.AgentsChanged++
	could := prev != nil && prev.ability.CanMakeCalls
	switch {
	case could && !next.CanMakeCalls:
		c.impact.AgentsLosingCalling++
	case !could && next.CanMakeCalls:
		c.impact.AgentsGainingCalling++
	}
	if len(c.first) == MaxImpactChanges && !diffLess(a.Email, a.ID, c.first[0].AgentEmail, c.first[0].AgentID) {
		return
	}
	d := AbilityDiff{AgentID: a.ID, AgentEmail: a.Email, AgentName: a.Name, Current: VersionedAbility{version, next}}
	var before []CallerID
	if prev != nil {
		d.Previous = &VersionedAbility{prev.version, prev.ability}
		before = prev.ability.CallerIDs
	}
	d.CallerIDsGained, d.CallerIDsLost = numbersOnlyIn(next.CallerIDs, before), numbersOnlyIn(before, next.CallerIDs)
	heap.Push(&c.first, d)
	if len(c.first) > MaxImpactChanges {
		heap.Pop(&c.first)
	}
}

// result returns the Impact, its diffs sorted by email.
func (c *impactCollector) result(dryRun bool) *Impact {
	out := c.impact
	out.DryRun = dryRun
	out.Changes = slices.Clone([]AbilityDiff(c.first))
	slices.SortFunc(out.Changes, func(a, b AbilityDiff) int {
		if diffLess(a.AgentEmail, a.AgentID, b.AgentEmail, b.AgentID) {
			return -1
		}
		return 1
	})
	return &out
}

// numbersOnlyIn returns the sorted E.164 numbers of a that b lacks.
func numbersOnlyIn(a, b []CallerID) []string {
	out := []string{}
	for _, c := range a {
		if !slices.ContainsFunc(b, func(o CallerID) bool { return o.PhoneNumber == c.PhoneNumber }) && !slices.Contains(out, c.PhoneNumber) {
			out = append(out, c.PhoneNumber)
		}
	}
	slices.Sort(out)
	return out
}

func diffLess(emailA string, idA int64, emailB string, idB int64) bool {
	if c := strings.Compare(emailA, emailB); c != 0 {
		return c < 0
	}
	return idA < idB
}

// diffHeap is a max-heap of diffs by (email, ID): its root is the one to
// drop first.
type diffHeap []AbilityDiff

func (h diffHeap) Len() int { return len(h) }
func (h diffHeap) Less(i, j int) bool {
	return diffLess(h[j].AgentEmail, h[j].AgentID, h[i].AgentEmail, h[i].AgentID)
}
func (h diffHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *diffHeap) Push(x any)   { *h = append(*h, x.(AbilityDiff)) }
func (h *diffHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
