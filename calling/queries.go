package calling

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"

	"outdial/models"
)

// Page asks for at most First items after the item whose key is After (0:
// from the start), in key order (newest first for logs).
type Page struct {
	First int
	After int64
}

// Paging limits.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)

// list runs a keyset-paginated query: rows of q with id after p.After,
// at most p.First of them, and whether more follow.
func list[T any](q *gorm.DB, p Page, newestFirst bool) ([]T, bool, error) {
	if newestFirst {
		if p.After > 0 {
			q = q.Where("id < ?", p.After)
		}
		q = q.Order("id DESC")
	} else {
		if p.After > 0 {
			q = q.Where("id > ?", p.After)
		}
		q = q.Order("id")
	}
	var rows []T
	if err := q.Limit(p.First + 1).Find(&rows).Error; err != nil {
		return nil, false, err
	}
	if len(rows) > p.First {
		return rows[:p.First], true, nil
	}
	return rows, false, nil
}

// countRows counts the rows of q.
func countRows(q *gorm.DB) (int, error) {
	var n int64
	err := q.Count(&n).Error
	return int(n), err
}

// likePattern returns a LIKE pattern matching s anywhere, case-insensitively
// (compare with LOWER(column) ... ESCAPE '!').
func likePattern(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(strings.ToLower(s)) + "%"
}

// Lister is a filtered list of one kind of object: a page of it or its size.
type Lister[T any] struct {
	q           func() *gorm.DB
	newestFirst bool
}

// Page returns the items of page p and whether more follow.
func (l Lister[T]) Page(p Page) ([]T, bool, error) { return list[T](l.q(), p, l.newestFirst) }

// Count returns the number of items of the whole list.
func (l Lister[T]) Count() (int, error) { return countRows(l.q()) }

// PhoneNumberFilter narrows PhoneNumbers; nil fields do not filter.
type PhoneNumberFilter struct {
	CanMakeCalls *bool
	Type         *string
	InUse        *bool
	Search       *string
}

// inUseSQL is true for numbers held as a personal number or used by an
// outbound profile.
const inUseSQL = `(EXISTS (SELECT 1 FROM agents a WHERE a.personal_number_id = phone_numbers.id)
	OR EXISTS (SELECT 1 FROM outbound_profile_numbers n WHERE n.phone_number_id = phone_numbers.id))`

// PhoneNumbers lists phone numbers in the order they were added.
func (s *Service) PhoneNumbers(ctx context.Context, f PhoneNumberFilter) Lister[models.PhoneNumber] {
	return Lister[models.PhoneNumber]{q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.PhoneNumber{})
		if f.CanMakeCalls != nil {
			q = q.Where("make_calls = ?", *f.CanMakeCalls)
		}
		if f.Type != nil {
			q = q.Where("type = ?", *f.Type)
		}
		if f.InUse != nil {
			if *f.InUse {
				q = q.Where(inUseSQL)
			} else {
				q = q.Where("NOT " + inUseSQL)
			}
		}
		if f.Search != nil && *f.Search != "" {
			pat := likePattern(*f.Search)
			q = q.Where("(LOWER(e164) LIKE ? ESCAPE '!' OR LOWER(label) LIKE ? ESCAPE '!')", pat, pat)
		}
		return q
	}}
}

// QueueFilter narrows Queues.
type QueueFilter struct {
	Channel *string
	Search  *string
}

// Queues lists queues in the order they were created.
func (s *Service) Queues(ctx context.Context, f QueueFilter) Lister[models.Queue] {
	return Lister[models.Queue]{q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.Queue{})
		if f.Channel != nil {
			q = q.Where("channel = ?", *f.Channel)
		}
		if f.Search != nil && *f.Search != "" {
			pat := likePattern(*f.Search)
			q = q.Where("(LOWER(name) LIKE ? ESCAPE '!' OR LOWER(description) LIKE ? ESCAPE '!')", pat, pat)
		}
		return q
	}}
}

// CapacityProfiles lists capacity profiles in the order they were created.
func (s *Service) CapacityProfiles(ctx context.Context) Lister[models.CapacityProfile] {
	return Lister[models.CapacityProfile]{q: func() *gorm.DB { return s.db.WithContext(ctx).Model(&models.CapacityProfile{}) }}
}

// OutboundProfiles lists outbound profiles in the order they were created.
func (s *Service) OutboundProfiles(ctx context.Context) Lister[models.OutboundProfile] {
	return Lister[models.OutboundProfile]{q: func() *gorm.DB { return s.db.WithContext(ctx).Model(&models.OutboundProfile{}) }}
}

// AgentFilter narrows Agents; nil fields do not filter.
type AgentFilter struct {
	CanMakeCalls      *bool
	Blocker           *BlockerCode
	QueueID           *int64
	CapacityProfileID *int64
	Search            *string
	// OnlyAgentID restricts the list to one agent (AGENT tokens).
	OnlyAgentID *int64
}

// Agents lists agents in the order they were created.
func (s *Service) Agents(ctx context.Context, f AgentFilter) Lister[models.Agent] {
	return Lister[models.Agent]{q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.Agent{})
		if f.OnlyAgentID != nil {
			q = q.Where("id = ?", *f.OnlyAgentID)
		}
		if f.CanMakeCalls != nil {
			q = q.Where("id IN (SELECT agent_id FROM calling_abilities WHERE can_make_calls = ?)", *f.CanMakeCalls)
		}
		if f.Blocker != nil {
			q = q.Where("id IN (SELECT agent_id FROM agent_blockers WHERE code = ?)", string(*f.Blocker))
		}
		if f.QueueID != nil {
			q = q.Where("id IN (SELECT agent_id FROM queue_members WHERE queue_id = ?)", *f.QueueID)
		}
		if f.CapacityProfileID != nil {
			q = q.Where("id IN (SELECT agent_id FROM capacity_profile_members WHERE capacity_profile_id = ?)", *f.CapacityProfileID)
		}
		if f.Search != nil && *f.Search != "" {
			pat := likePattern(*f.Search)
			q = q.Where("(LOWER(name) LIKE ? ESCAPE '!' OR email LIKE ? ESCAPE '!')", pat, pat)
		}
		return q
	}}
}

// AgentByEmail returns the agent with the email (any case), or nil.
func (s *Service) AgentByEmail(ctx context.Context, email string) (*models.Agent, error) {
	var rows []models.Agent
	err := s.db.WithContext(ctx).Where("email = ?", strings.ToLower(strings.TrimSpace(email))).Limit(1).Find(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[0], nil
}

// AuditFilter narrows AuditLog.
type AuditFilter struct {
	TargetID *string
	Action   *string
}

// AuditLog lists audit entries, newest first.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) Lister[models.AuditEntry] {
	return Lister[models.AuditEntry]{newestFirst: true, q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.AuditEntry{})
		if f.TargetID != nil {
			q = q.Where("target_id = ?", *f.TargetID)
		}
		if f.Action != nil {
			q = q.Where("action = ?", *f.Action)
		}
		return q
	}}
}

// APITokens lists API tokens in the order they were created.
func (s *Service) APITokens(ctx context.Context) Lister[models.APIToken] {
	return Lister[models.APIToken]{q: func() *gorm.DB { return s.db.WithContext(ctx).Model(&models.APIToken{}) }}
}

// Summary holds the figures of callingSummary.
type Summary struct {
	Agents                   int
	AgentsCanMakeCalls       int
	Blockers                 []BlockerCount
	PhoneNumbers             int
	PhoneNumbersCanMakeCalls int
	OutboundProfiles         int
}

// BlockerCount is the number of agents whose ability lists a blocker code.
type BlockerCount struct {
	Code   BlockerCode
	Agents int
}

// blockerOrder is the order of BlockerCount rows.
var blockerOrder = []BlockerCode{BlockerUnifiedRoutingDisabled, BlockerNoOutboundProfile,
	BlockerNotInProfileQueue, BlockerNoOutboundNumber, BlockerNoDefaultOutboundProfile}

// CallingSummary counts who can call and why the others cannot: one
// statement per figure, whatever the number of agents.
func (s *Service) CallingSummary(ctx context.Context) (Summary, error) {
	db := s.db.WithContext(ctx)
	var sum Summary
	var err error
	counts := []struct {
		dst *int
		q   *gorm.DB
	}{
		{&sum.Agents, db.Model(&models.Agent{})},
		{&sum.AgentsCanMakeCalls, db.Model(&models.CallingAbility{}).Where("can_make_calls = ?", true)},
		{&sum.PhoneNumbers, db.Model(&models.PhoneNumber{})},
		{&sum.PhoneNumbersCanMakeCalls, db.Model(&models.PhoneNumber{}).Where("make_calls = ?", true)},
		{&sum.OutboundProfiles, db.Model(&models.OutboundProfile{})},
	}
	for _, c := range counts {
		if *c.dst, err = countRows(c.q); err != nil {
			return Summary{}, fmt.Errorf("calling summary: %w", err)
		}
	}
	var rows []struct {
		Code   string
		Agents int
	}
	if err := db.Model(&models.AgentBlocker{}).Select("code, COUNT(*) AS agents").Group("code").Scan(&rows).Error; err != nil {
		return Summary{}, fmt.Errorf("calling summary: %w", err)
	}
	byCode := map[BlockerCode]int{}
	for _, r := range rows {
		byCode[BlockerCode(r.Code)] = r.Agents
	}
	for _, code := range blockerOrder {
		if n := byCode[code]; n > 0 {
			sum.Blockers = append(sum.Blockers, BlockerCount{Code: code, Agents: n})
		}
	}
	return sum, nil
}
