package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"outdial/calling"
	"outdial/models"
	"outdial/models/dbtest"
	"outdial/webhooks"
)

// TestMaintainedCounts: the counts that triggers maintain (migration
// 00018: member counts, the tallies of callingSummary) equal the counts of
// the rows after every kind of write that changes them: the bulk import,
// memberships added and removed, a deleted queue (its memberships go by
// cascade), abilities that lose and regain their caller IDs, blockers, a
// number's calling plan, a released number.
func TestMaintainedCounts(t *testing.T) {
	ctx := context.Background()
	db := dbtest.Open(t)
	svc := calling.New(db, webhooks.NewOutbox(models.Now), slog.New(slog.NewTextHandler(io.Discard, nil)),
		calling.WithAbilityCheck(func(action string, err error) {
			t.Errorf("refresh oracle: after %s, the stored abilities are not those of the configuration:\n%v", action, err)
		}))
	org, err := SeedOrg(ctx, svc, 120, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(step string) {
		t.Helper()
		sum, err := svc.CallingSummary(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := calling.Summary{}
		rows := func(q string, args ...any) int {
			var n int64
			if err := db.Raw(q, args...).Scan(&n).Error; err != nil {
				t.Fatal(err)
			}
			return int(n)
		}
		want.Agents = rows("SELECT COUNT(*) FROM agents")
		want.AgentsCanMakeCalls = rows("SELECT COUNT(*) FROM calling_abilities WHERE can_make_calls = ?", true)
		want.PhoneNumbers = rows("SELECT COUNT(*) FROM phone_numbers")
		want.PhoneNumbersCanMakeCalls = rows("SELECT COUNT(*) FROM phone_numbers WHERE make_calls = ?", true)
		want.OutboundProfiles = rows("SELECT COUNT(*) FROM outbound_profiles")
		for _, code := range []calling.BlockerCode{calling.BlockerUnifiedRoutingDisabled, calling.BlockerNoOutboundProfile,
			calling.BlockerNotInProfileQueue, calling.BlockerNoOutboundNumber, calling.BlockerNoDefaultOutboundProfile} {
			if n := rows("SELECT COUNT(*) FROM agent_blockers WHERE code = ?", string(code)); n > 0 {
				want.Blockers = append(want.Blockers, calling.BlockerCount{Code: code, Agents: n})
			}
		}
		for _, code := range []calling.WarningCode{calling.WarningPersonalNumberUnused, calling.WarningProfileIncomplete} {
			if n := rows("SELECT COUNT(*) FROM agent_warnings WHERE code = ?", string(code)); n > 0 {
				want.Warnings = append(want.Warnings, calling.WarningCount{Code: code, Agents: n})
			}
		}
		if fmt.Sprint(sum) != fmt.Sprint(want) {
			t.Errorf("%s: callingSummary %+v, the rows say %+v", step, sum, want)
		}
		var queues, capacities []int64
		db.Raw("SELECT id FROM queues ORDER BY id").Scan(&queues)
		db.Raw("SELECT id FROM capacity_profiles ORDER BY id").Scan(&capacities)
		qc, err := svc.QueueAgentCounts(ctx, queues)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range queues {
			n, err := svc.Agents(ctx, calling.AgentFilter{QueueID: &id}).Count()
			want := rows("SELECT COUNT(*) FROM queue_members WHERE queue_id = ?", id)
			if err != nil || n != want || qc[i] != want {
				t.Errorf("%s: queue %d: totalCount %d (%v), agentCount %d, %d members", step, id, n, err, qc[i], want)
			}
		}
		cc, err := svc.CapacityProfileAgentCounts(ctx, capacities)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range capacities {
			n, err := svc.Agents(ctx, calling.AgentFilter{CapacityProfileID: &id}).Count()
			want := rows("SELECT COUNT(*) FROM capacity_profile_members WHERE capacity_profile_id = ?", id)
			if err != nil || n != want || cc[i] != want {
				t.Errorf("%s: capacity profile %d: totalCount %d (%v), agentCount %d, %d members", step, id, n, err, cc[i], want)
			}
		}
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check("after the import")
	some := org.AgentIDs[10:40]
	// Out of the default profile's queue: those without another profile
	// lose every caller ID and get blockers.
	must(svc.RemoveAgentsFromQueue(ctx, seedActor, calling.QueueMembersInput{QueueID: org.QueueIDs[0], AgentIDs: some}))
	must(svc.RemoveAgentsFromCapacityProfile(ctx, seedActor, calling.CapacityProfileMembersInput{CapacityProfileID: org.CapacityProfileIDs[3], AgentIDs: some}))
	check("after removals")
	must(svc.UpdateAgent(ctx, seedActor, calling.UpdateAgentInput{ID: org.AgentIDs[11], UnifiedRoutingEnabled: new(false)}))
	check("after unified routing off")
	must(svc.AddAgentsToQueue(ctx, seedActor, calling.QueueMembersInput{QueueID: org.QueueIDs[0], AgentIDs: some[:5]}))
	check("after additions")
	var nums []int64
	db.Raw("SELECT phone_number_id FROM outbound_profile_numbers WHERE outbound_profile_id = ?", org.ProfileIDs[4]).Scan(&nums)
	for _, n := range nums {
		must(svc.DowngradeCallingPlan(ctx, seedActor, calling.ChangeCallingPlanInput{PhoneNumberID: n, Capabilities: []calling.Capability{calling.MakeCalls}}))
	}
	check("after downgrades")
	must(nil, svc.DeleteOutboundProfile(ctx, seedActor, org.ProfileIDs[4]))
	must(nil, svc.DeleteQueue(ctx, seedActor, org.QueueIDs[4]))
	must(nil, svc.ReleasePhoneNumber(ctx, seedActor, nums[0]))
	check("after deleting a profile, its queue and a number")
}
