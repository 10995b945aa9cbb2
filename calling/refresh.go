package calling

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm/clause"

	"outdial/models"
	"outdial/webhooks"
)

// chunkSize bounds the IDs of one IN (…) list: a refresh of n agents runs
// a constant number of statements per chunk, never one per agent, and
// holds one chunk in memory at a time. A variable only so that tests can
// make a change of a few chunks out of few agents (export_test.go).
var chunkSize = 1000

// refresh recomputes the stored ability of the given agents from the
// configuration as tx sees it now. For each agent whose ability changed
// (Equivalent is false) it raises the version by one, stores the new
// ability and records one agent.calling_ability.changed event; an agent
// without a stored ability gets version 1 and an event with no previous
// state. A change of wording only (a rename) is stored without a new
// version or event.
func (t *txn) refresh(agentIDs []int64) error {
	ids := uniqueSorted(agentIDs)
	if len(ids) == 0 {
		return nil
	}
	profiles, err := t.loadProfiles()
	if err != nil {
		return err
	}
	set := prepareProfiles(profiles)
	for chunk := range slices.Chunk(ids, chunkSize) {
		if err := t.refreshChunk(chunk, set); err != nil {
			return err
		}
	}
	return nil
}

// storedAbility is an agent's ability as stored.
type storedAbility struct {
	version   int64
	ability   Ability
	changedAt time.Time
}

// storedRow is an agent's stored ability not yet decoded: the refresh
// decodes it only when the new ability's JSON differs from it.
type storedRow struct {
	version   int64
	snapshot  string
	changedAt time.Time
}

func (r storedRow) decode(agentID int64) (storedAbility, error) {
	var ab Ability
	if err := json.Unmarshal([]byte(r.snapshot), &ab); err != nil {
		return storedAbility{}, fmt.Errorf("decode stored ability of agent %d: %w", agentID, err)
	}
	return storedAbility{version: r.version, ability: ab, changedAt: r.changedAt}, nil
}

func (t *txn) refreshChunk(ids []int64, profiles profileSet) error {
	facts, agents, err := t.loadAgentFacts(ids)
	if err != nil {
		return err
	}
	stored, err := t.loadStoredRows(ids)
	if err != nil {
		return err
	}
	var w abilityWrites
	// Agents of the same teams hold the same stored ability: each distinct
	// snapshot of the chunk is decoded once (the decoded abilities are
	// only read).
	decoded := map[string]Ability{}
	for _, a := range agents {
		next := profiles.derive(facts[a.ID])
		// One encoding per agent, compared with the stored bytes: equal
		// bytes are the "identical" of before (warnings and wording
		// included) without decoding; otherwise the stored ability is
		// decoded, as the event's previous state needs it anyway.
		snap, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("encode ability: %w", err)
		}
		row, had := stored[a.ID]
		if had && row.snapshot == string(snap) {
			continue
		}
		version := int64(1)
		var previous *storedAbility
		if had {
			prev := storedAbility{version: row.version, changedAt: row.changedAt}
			var known bool
			if prev.ability, known = decoded[row.snapshot]; !known {
				p, err := row.decode(a.ID)
				if err != nil {
					return err
				}
				prev.ability, decoded[row.snapshot] = p.ability, p.ability
			}
			if Equivalent(prev.ability, next) {
				// Wording or warnings only: no new version, no event.
				w.add(a.ID, prev.version, next, snap, prev.changedAt, false)
				continue
			}
			version = prev.version + 1
			previous = &prev
		}
		w.add(a.ID, version, next, snap, t.now, true)
		t.impact.add(a, previous, version, next)
		t.emitAbilityChanged(a, version, next, previous)
	}
	if err := t.store(&w); err != nil {
		return err
	}
	// The chunk's events are written now, within the transaction, so that
	// a change of any size holds one chunk at a time.
	return t.flushEvents()
}

// abilityWrites are the rows one chunk of a refresh writes.
type abilityWrites struct {
	rows       []models.CallingAbility
	versions   []models.CallingAbilityVersion // the new versions
	rewritten  []int64                        // agents of rows
	changedIDs []int64                        // agents with a new version
	blockers   []models.AgentBlocker          // of changedIDs
	warnings   []models.AgentWarning          // of rewritten
}

// add records the row of agent at version, ab encoded as snap;
// newVersion says whether the version is new (a change) or the stored one
// (wording or warnings).
func (w *abilityWrites) add(agentID, version int64, ab Ability, snap []byte, changedAt time.Time, newVersion bool) {
	row := models.CallingAbility{AgentID: agentID, Version: version, CanMakeCalls: ab.CanMakeCalls,
		Snapshot: string(snap), ChangedAt: changedAt}
	w.rows = append(w.rows, row)
	w.rewritten = append(w.rewritten, agentID)
	for _, x := range ab.Warnings {
		w.warnings = append(w.warnings, models.AgentWarning{AgentID: agentID, Code: string(x.Code)})
	}
	if !newVersion {
		return
	}
	w.changedIDs = append(w.changedIDs, agentID)
	for _, b := range ab.Blockers {
		w.blockers = append(w.blockers, models.AgentBlocker{AgentID: agentID, Code: string(b.Code)})
	}
	w.versions = append(w.versions, models.CallingAbilityVersion{AgentID: agentID, Version: version,
		CanMakeCalls: row.CanMakeCalls, Snapshot: row.Snapshot, ChangedAt: changedAt})
}

// store upserts the ability rows, adds the new versions to the history
// (caused by this command's audit entry), and replaces the blocker codes of
// the changed agents and the warning codes of the rewritten ones, in
// batches.
func (t *txn) store(w *abilityWrites) error {
	if len(w.rows) > 0 {
		upsert := clause.OnConflict{
			Columns:   []clause.Column{{Name: "agent_id"}},
			DoUpdates: clause.AssignmentColumns([]string{"version", "can_make_calls", "snapshot", "changed_at"}),
		}
		if err := t.tx.Clauses(upsert).CreateInBatches(&w.rows, t.rowsPerInsert()).Error; err != nil {
			return fmt.Errorf("store abilities: %w", err)
		}
	}
	if len(w.versions) > 0 {
		for i := range w.versions {
			w.versions[i].AuditEntryID = t.auditID
		}
		if err := t.tx.CreateInBatches(&w.versions, t.rowsPerInsert()).Error; err != nil {
			return fmt.Errorf("store ability history: %w", err)
		}
	}
	if err := replaceCodes(t, &models.AgentBlocker{}, w.changedIDs, uniqueCodes(w.blockers)); err != nil {
		return fmt.Errorf("store blockers: %w", err)
	}
	if err := replaceCodes(t, &models.AgentWarning{}, w.rewritten, uniqueCodes(w.warnings)); err != nil {
		return fmt.Errorf("store warnings: %w", err)
	}
	t.changed += len(w.changedIDs)
	return nil
}

// rowsPerInsert returns how many rows one INSERT of a refresh carries:
// fewer on SQLite, whose driver (glebarez/go-sqlite) binds each parameter
// by scanning all of the statement's, in time quadratic in their number.
func (t *txn) rowsPerInsert() int {
	return webhooks.RowsPerInsert(t.tx)
}

// replaceCodes deletes the rows of model's table for agentIDs and inserts
// rows.
func replaceCodes[R any](t *txn, model *R, agentIDs []int64, rows []R) error {
	if len(agentIDs) > 0 {
		if err := t.tx.Where("agent_id IN ?", agentIDs).Delete(model).Error; err != nil {
			return err
		}
	}
	if len(rows) > 0 {
		return t.tx.CreateInBatches(&rows, t.rowsPerInsert()).Error
	}
	return nil
}

// abilitiesIdentical reports whether a and b encode to the same JSON.
func abilitiesIdentical(a, b Ability) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func uniqueCodes[R comparable](bs []R) []R {
	seen := make(map[R]bool, len(bs))
	out := bs[:0]
	for _, b := range bs {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// loadProfiles reads every outbound profile with its queue name, capacity
// settings and numbers: two statements.
func (t *txn) loadProfiles() ([]Profile, error) {
	var rows []struct {
		ID                int64
		Name              string
		QueueID           int64
		QueueName         string
		CapacityProfileID int64
		CapacityName      string
		WorkItemLimit     int
		ResetFrequency    string
		BlockAssignment   bool
		CallerIDName      *string `gorm:"column:caller_id_name"`
		DefaultMarker     *int
	}
	err := t.tx.Table("outbound_profiles p").
		Select("p.id, p.name, p.queue_id, q.name AS queue_name, p.capacity_profile_id, c.name AS capacity_name, c.work_item_limit, c.reset_frequency, c.block_assignment, p.caller_id_name, p.default_marker").
		Joins("JOIN queues q ON q.id = p.queue_id").
		Joins("JOIN capacity_profiles c ON c.id = p.capacity_profile_id").
		Order("p.id").Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("load outbound profiles: %w", err)
	}
	var nums []struct {
		OutboundProfileID int64
		ID                int64
		E164              string
		MakeCalls         bool
	}
	err = t.tx.Table("outbound_profile_numbers n").
		Select("n.outbound_profile_id, ph.id, ph.e164, ph.make_calls").
		Joins("JOIN phone_numbers ph ON ph.id = n.phone_number_id").
		Order("ph.e164").Scan(&nums).Error
	if err != nil {
		return nil, fmt.Errorf("load outbound profile numbers: %w", err)
	}
	byID := make(map[int64]*Profile, len(rows))
	profiles := make([]Profile, len(rows))
	for i, r := range rows {
		profiles[i] = Profile{
			ID: r.ID, Name: r.Name, QueueID: r.QueueID, QueueName: r.QueueName,
			CapacityProfileID: r.CapacityProfileID, CapacityProfileName: r.CapacityName,
			Capacity:     Capacity{WorkItemLimit: r.WorkItemLimit, ResetFrequency: r.ResetFrequency, BlockAssignment: r.BlockAssignment},
			CallerIDName: r.CallerIDName, IsDefault: r.DefaultMarker != nil,
		}
		byID[r.ID] = &profiles[i]
	}
	for _, n := range nums {
		if p := byID[n.OutboundProfileID]; p != nil {
			p.Numbers = append(p.Numbers, Number{ID: n.ID, E164: n.E164, MakeCalls: n.MakeCalls})
		}
	}
	return profiles, nil
}

// loadAgentFacts reads the agents with their memberships and personal
// numbers: four statements for the whole chunk.
func (t *txn) loadAgentFacts(ids []int64) (map[int64]AgentFacts, []models.Agent, error) {
	var agents []models.Agent
	// Only the columns the refresh reads (its events and impact name the
	// agent): not the keys, nor the timestamps SQLite stores as text.
	if err := t.tx.Select("id, name, email, unified_routing_enabled, personal_number_id").
		Where("id IN ?", ids).Order("id").Find(&agents).Error; err != nil {
		return nil, nil, fmt.Errorf("load agents: %w", err)
	}
	var cpm []models.CapacityProfileMember
	if err := t.tx.Where("agent_id IN ?", ids).Find(&cpm).Error; err != nil {
		return nil, nil, fmt.Errorf("load capacity profile memberships: %w", err)
	}
	var qm []models.QueueMember
	if err := t.tx.Where("agent_id IN ?", ids).Find(&qm).Error; err != nil {
		return nil, nil, fmt.Errorf("load queue memberships: %w", err)
	}
	var personalIDs []int64
	for _, a := range agents {
		if a.PersonalNumberID != nil {
			personalIDs = append(personalIDs, *a.PersonalNumberID)
		}
	}
	personal := map[int64]models.PhoneNumber{}
	if len(personalIDs) > 0 {
		var nums []models.PhoneNumber
		if err := t.tx.Where("id IN ?", personalIDs).Find(&nums).Error; err != nil {
			return nil, nil, fmt.Errorf("load personal numbers: %w", err)
		}
		for _, n := range nums {
			personal[n.ID] = n
		}
	}
	facts := make(map[int64]AgentFacts, len(agents))
	for _, a := range agents {
		f := AgentFacts{UnifiedRoutingEnabled: a.UnifiedRoutingEnabled}
		if a.PersonalNumberID != nil {
			if n, ok := personal[*a.PersonalNumberID]; ok {
				f.PersonalNumber = &Number{ID: n.ID, E164: n.E164, MakeCalls: n.MakeCalls}
			}
		}
		facts[a.ID] = f
	}
	for _, m := range cpm {
		f := facts[m.AgentID]
		f.CapacityProfileIDs = append(f.CapacityProfileIDs, m.CapacityProfileID)
		facts[m.AgentID] = f
	}
	for _, m := range qm {
		f := facts[m.AgentID]
		f.QueueIDs = append(f.QueueIDs, m.QueueID)
		facts[m.AgentID] = f
	}
	return facts, agents, nil
}

// loadStoredRows reads the stored abilities of the agents, undecoded.
func (t *txn) loadStoredRows(ids []int64) (map[int64]storedRow, error) {
	var rows []models.CallingAbility
	if err := t.tx.Where("agent_id IN ?", ids).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("load stored abilities: %w", err)
	}
	out := make(map[int64]storedRow, len(rows))
	for _, r := range rows {
		out[r.AgentID] = storedRow{version: r.Version, snapshot: r.Snapshot, changedAt: r.ChangedAt}
	}
	return out, nil
}

// loadStored reads and decodes the stored abilities of the agents.
func (t *txn) loadStored(ids []int64) (map[int64]storedAbility, error) {
	rows, err := t.loadStoredRows(ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]storedAbility, len(rows))
	for id, r := range rows {
		if out[id], err = r.decode(id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// emitAbilityChanged records the agent.calling_ability.changed event of
// one agent.
func (t *txn) emitAbilityChanged(a models.Agent, version int64, next Ability, prev *storedAbility) {
	data := AbilityChangedData{
		Agent:        EventAgent{ID: GlobalID(KindAgent, a.ID), Email: a.Email, Name: a.Name},
		AbilityState: wireState(version, next),
	}
	if prev != nil {
		p := wireState(prev.version, prev.ability)
		data.Previous = &p
	}
	agentID, v := a.ID, version
	t.emit(webhooks.Event{Type: webhooks.TypeAbilityChanged, Data: data, AgentID: &agentID, Version: &v})
}

func uniqueSorted(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}
