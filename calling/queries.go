package calling

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"outdial/models"
	"outdial/names"
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

// Text filters (search, action, targetId, agent(email:)) follow one rule
// on both databases: the filter is put in the stored form of the values it
// is compared with (names.Line: trimmed, invisible characters removed,
// inner white space one space, NFC), refused (a refusal on the filter
// field, which the API answers as BAD_USER_INPUT) when it holds a control
// or bidirectional control character or has more than MaxSearchLen
// characters, and then compared exactly: as a key
// (names.Key) with the keys stored beside names, emails, labels and
// descriptions, byte for byte with identifiers. Nothing depends on the
// database's collation: no PAD SPACE, no case or accent rules of its own.

// filterText returns the stored form of a text filter given in field
// (under "filter"); c collects its refusal.
func filterText(c *checker, s string, field string) string {
	t, err := names.Line(s)
	if err != nil {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("filter.%s cannot contain %s.", field, err), "filter", field))
		return ""
	}
	if n := names.Len(t); n > MaxSearchLen {
		c.add(refuse(CodeInvalidInput, fmt.Sprintf("filter.%s has at most %d characters; it has %d.", field, MaxSearchLen, n), "filter", field))
	}
	return t
}

// optionalFilter is filterText for a filter that may be absent (nil).
func optionalFilter(c *checker, s *string, field string) *string {
	if s == nil {
		return nil
	}
	t := filterText(c, *s, field)
	return &t
}

// searchPattern returns the LIKE pattern (ESCAPE '!') that finds the key
// of search anywhere in a key column, or "" when search is absent or holds
// nothing visible (then it does not filter).
func searchPattern(c *checker, search *string) string { return likePattern(searchKey(c, search)) }

// likePattern returns the LIKE pattern (ESCAPE '!') that finds key
// anywhere in a key column, or "" for an empty key.
func likePattern(key string) string {
	if key == "" {
		return ""
	}
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(key) + "%"
}

// searchKey returns the key of search, or "" when search is absent or
// holds nothing visible.
func searchKey(c *checker, search *string) string {
	if search == nil {
		return ""
	}
	t := filterText(c, *search, "search")
	if t == "" {
		return ""
	}
	return names.Key(t)
}

// maxSearchGrams bounds the trigrams of a search that the MySQL index is
// asked for: enough to make the candidates few, few enough to keep the
// statement small.
const maxSearchGrams = 6

// agentSearchIndex narrows q to the agents whose name or email key may
// hold key, with the text index of migration 00018: SQLite's FTS5 table
// with the trigram tokenizer (keys of three characters or more), MySQL's
// table of the keys' three-byte slices (keys of three bytes or more: the
// agents holding each of up to maxSearchGrams of the key's slices). It
// returns q unchanged for a shorter key. The index only picks candidates:
// the LIKE on the keys decides, on both databases alike.
func agentSearchIndex(q *gorm.DB, key string) *gorm.DB {
	if q.Dialector.Name() == "sqlite" {
		if utf8.RuneCountInString(key) < 3 {
			return q
		}
		phrase := `"` + strings.ReplaceAll(key, `"`, `""`) + `"`
		return q.Where("id IN (SELECT rowid FROM agents_search WHERE agents_search MATCH ?)", phrase)
	}
	grams := trigrams(key, maxSearchGrams)
	if len(grams) == 0 {
		return q
	}
	var sql strings.Builder
	args := make([]any, 0, len(grams))
	sql.WriteString("id IN (SELECT g0.agent_id FROM agent_search_grams g0")
	for i, g := range grams[1:] {
		fmt.Fprintf(&sql, " JOIN agent_search_grams g%d ON g%d.agent_id = g0.agent_id AND g%d.gram = ?", i+1, i+1, i+1)
		args = append(args, g)
	}
	sql.WriteString(" WHERE g0.gram = ?)")
	args = append(args, grams[0])
	return q.Where(sql.String(), args...)
}

// trigrams returns up to limit distinct three-byte slices of key, spread
// over it from its first to its last, or none when key is shorter.
func trigrams(key string, limit int) [][]byte {
	n := len(key) - 2
	if n < 1 {
		return nil
	}
	seen := map[string]bool{}
	var out [][]byte
	for i := range min(n, limit) {
		at := i * (n - 1) / max(1, min(n, limit)-1)
		if g := key[at : at+3]; !seen[g] {
			seen[g] = true
			out = append(out, []byte(g))
		}
	}
	return out
}

// Lister is a filtered list of one kind of object: a page of it or its
// size. A list whose filter was refused returns that refusal.
type Lister[T any] struct {
	q           func() *gorm.DB
	newestFirst bool
	err         error
	// count, when set, answers Count instead of counting the rows of q:
	// from a maintained count, or from a query with q's rows that the
	// database counts faster.
	count func() (int, error)
}

// Page returns the items of page p and whether more follow.
func (l Lister[T]) Page(p Page) ([]T, bool, error) {
	if l.err != nil {
		return nil, false, l.err
	}
	return list[T](l.q(), p, l.newestFirst)
}

// Count returns the number of items of the whole list.
func (l Lister[T]) Count() (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.count != nil {
		return l.count()
	}
	return countRows(l.q())
}

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

// PhoneNumbers lists phone numbers in the order they were added. Search
// finds the key of f.Search in e164 or the label's key.
func (s *Service) PhoneNumbers(ctx context.Context, f PhoneNumberFilter) Lister[models.PhoneNumber] {
	var c checker
	pat := searchPattern(&c, f.Search)
	return Lister[models.PhoneNumber]{err: c.err(), q: func() *gorm.DB {
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
		if pat != "" {
			q = q.Where("(e164 LIKE ? ESCAPE '!' OR label_key LIKE ? ESCAPE '!')", pat, pat)
		}
		return q
	}}
}

// QueueFilter narrows Queues.
type QueueFilter struct {
	Channel *string
	Search  *string
}

// Queues lists queues in the order they were created. Search finds the
// key of f.Search in the keys of the name or description.
func (s *Service) Queues(ctx context.Context, f QueueFilter) Lister[models.Queue] {
	var c checker
	pat := searchPattern(&c, f.Search)
	return Lister[models.Queue]{err: c.err(), q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.Queue{})
		if f.Channel != nil {
			q = q.Where("channel = ?", *f.Channel)
		}
		if pat != "" {
			q = q.Where("(name_key LIKE ? ESCAPE '!' OR description_key LIKE ? ESCAPE '!')", pat, pat)
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
	Warning           *WarningCode
	QueueID           *int64
	CapacityProfileID *int64
	Search            *string
	// OnlyAgentID restricts the list to one agent (AGENT tokens).
	OnlyAgentID *int64
}

// Agents lists agents in the order they were created. Search finds the
// key of f.Search in the keys of the name or email.
func (s *Service) Agents(ctx context.Context, f AgentFilter) Lister[models.Agent] {
	var c checker
	key := searchKey(&c, f.Search)
	pat := likePattern(key)
	var count func() (int, error)
	if only := (AgentFilter{QueueID: f.QueueID, CapacityProfileID: f.CapacityProfileID}); f == only && pat == "" {
		// The members of one queue or capacity profile: its maintained
		// count (migration 00018; memberships reference agents, so every
		// member is an agent).
		switch {
		case f.QueueID != nil && f.CapacityProfileID == nil:
			count = func() (int, error) { return s.memberCount(ctx, "queues", *f.QueueID) }
		case f.CapacityProfileID != nil && f.QueueID == nil:
			count = func() (int, error) { return s.memberCount(ctx, "capacity_profiles", *f.CapacityProfileID) }
		}
	}
	return Lister[models.Agent]{err: c.err(), count: count, q: func() *gorm.DB {
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
		if f.Warning != nil {
			q = q.Where("id IN (SELECT agent_id FROM agent_warnings WHERE code = ?)", string(*f.Warning))
		}
		if f.QueueID != nil {
			q = q.Where("id IN (SELECT agent_id FROM queue_members WHERE queue_id = ?)", *f.QueueID)
		}
		if f.CapacityProfileID != nil {
			q = q.Where("id IN (SELECT agent_id FROM capacity_profile_members WHERE capacity_profile_id = ?)", *f.CapacityProfileID)
		}
		if pat != "" {
			q = agentSearchIndex(q, key).Where("(name_key LIKE ? ESCAPE '!' OR email_key LIKE ? ESCAPE '!')", pat, pat)
		}
		return q
	}}
}

// memberCount returns the maintained member count of a queue or capacity
// profile (table "queues" or "capacity_profiles"), 0 for none.
func (s *Service) memberCount(ctx context.Context, table string, id int64) (int, error) {
	var n []int
	if err := s.db.WithContext(ctx).Table(table).Where("id = ?", id).Pluck("member_count", &n).Error; err != nil {
		return 0, fmt.Errorf("count members: %w", err)
	}
	if len(n) == 0 {
		return 0, nil
	}
	return n[0], nil
}

// AgentByEmail returns the agent whose email has the key of email, or nil:
// the email is taken as stored emails are (names.Email), so that case,
// width, white space at the ends and invisible characters do not matter.
// It returns a refusal (field "email") for an email with a control or
// bidirectional control character, or longer than MaxEmailLen characters.
func (s *Service) AgentByEmail(ctx context.Context, email string) (*models.Agent, error) {
	e, err := names.Email(email)
	if err != nil {
		return nil, refuse(CodeInvalidInput, fmt.Sprintf("email cannot contain %s.", err), "email")
	}
	if n := names.Len(e); n > MaxEmailLen {
		return nil, refuse(CodeInvalidInput, fmt.Sprintf("email has at most %d characters; it has %d.", MaxEmailLen, n), "email")
	}
	if e == "" {
		return nil, nil
	}
	var rows []models.Agent
	err = s.db.WithContext(ctx).Where("email_key = ?", names.Key(e)).Limit(1).Find(&rows).Error
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

// AuditLog lists audit entries, newest first. Action and TargetID are
// identifiers: after the filter rule (white space at the ends and invisible
// characters do not count) they are compared exactly, case included; an
// empty one matches no entry.
func (s *Service) AuditLog(ctx context.Context, f AuditFilter) Lister[models.AuditEntry] {
	var c checker
	target, action := optionalFilter(&c, f.TargetID, "targetId"), optionalFilter(&c, f.Action, "action")
	return Lister[models.AuditEntry]{newestFirst: true, err: c.err(), q: func() *gorm.DB {
		q := s.db.WithContext(ctx).Model(&models.AuditEntry{})
		if target != nil {
			q = q.Where("target_id = ?", *target)
		}
		if action != nil {
			q = q.Where("action = ?", *action)
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
	Warnings                 []WarningCount
	PhoneNumbers             int
	PhoneNumbersCanMakeCalls int
	OutboundProfiles         int
}

// BlockerCount is the number of agents whose ability lists a blocker code.
type BlockerCount struct {
	Code   BlockerCode
	Agents int
}

// WarningCount is the number of agents whose ability lists a warning code.
type WarningCount struct {
	Code   WarningCode
	Agents int
}

// warningOrder is the order of WarningCount rows.
var warningOrder = []WarningCode{WarningPersonalNumberUnused, WarningProfileIncomplete}

// blockerOrder is the order of BlockerCount rows.
var blockerOrder = []BlockerCode{BlockerUnifiedRoutingDisabled, BlockerNoOutboundProfile,
	BlockerNotInProfileQueue, BlockerNoOutboundNumber, BlockerNoDefaultOutboundProfile}

// CallingSummary counts who can call, why the others cannot and what does
// nothing: the maintained tallies (migration 00018), the outbound profiles
// and the warnings (grouped on the agent_warnings (code, agent_id) index),
// three statements whatever the number of agents.
func (s *Service) CallingSummary(ctx context.Context) (Summary, error) {
	db := s.db.WithContext(ctx)
	var sum Summary
	var err error
	if sum.OutboundProfiles, err = countRows(db.Model(&models.OutboundProfile{})); err != nil {
		return Summary{}, fmt.Errorf("calling summary: %w", err)
	}
	var rows []struct {
		Name string
		N    int
	}
	if err := db.Table("tallies").Select("name, n").Scan(&rows).Error; err != nil {
		return Summary{}, fmt.Errorf("calling summary: %w", err)
	}
	byCode := map[BlockerCode]int{}
	for _, r := range rows {
		switch r.Name {
		case "agents":
			sum.Agents = r.N
		case "agents_can_make_calls":
			sum.AgentsCanMakeCalls = r.N
		case "phone_numbers":
			sum.PhoneNumbers = r.N
		case "phone_numbers_can_make_calls":
			sum.PhoneNumbersCanMakeCalls = r.N
		default:
			if code, ok := strings.CutPrefix(r.Name, "blocker:"); ok {
				byCode[BlockerCode(code)] = r.N
			}
		}
	}
	for _, code := range blockerOrder {
		if n := byCode[code]; n > 0 {
			sum.Blockers = append(sum.Blockers, BlockerCount{Code: code, Agents: n})
		}
	}
	warnings, err := codeCounts(db.Model(&models.AgentWarning{}))
	if err != nil {
		return Summary{}, err
	}
	for _, code := range warningOrder {
		if n := warnings[string(code)]; n > 0 {
			sum.Warnings = append(sum.Warnings, WarningCount{Code: code, Agents: n})
		}
	}
	return sum, nil
}

// codeCounts counts the agents per code of q's table (agent_blockers or
// agent_warnings): one statement, read from the (code, agent_id) index.
func codeCounts(q *gorm.DB) (map[string]int, error) {
	var rows []struct {
		Code   string
		Agents int
	}
	if err := q.Select("code, COUNT(*) AS agents").Group("code").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("calling summary: %w", err)
	}
	out := make(map[string]int, len(rows))
	for _, r := range rows {
		out[r.Code] = r.Agents
	}
	return out, nil
}
