package calling

import (
	"context"
	"fmt"

	"outdial/models"
)

// Queue channels (GraphQL QueueChannel).
const (
	ChannelVoice     = "VOICE"
	ChannelMessaging = "MESSAGING"
	ChannelRecord    = "RECORD"
)

// CreateQueueInput is the input of CreateQueue.
type CreateQueueInput struct {
	Name        string
	Channel     string
	Description *string
}

// CreateQueue creates a queue. Refusals: INVALID_INPUT, ALREADY_EXISTS.
func (s *Service) CreateQueue(ctx context.Context, actor Actor, in CreateQueueInput) (*models.Queue, error) {
	var c checker
	name := cleanName(&c, in.Name, "name")
	desc := cleanDescription(&c, in.Description, "description")
	c.check(in.Channel == ChannelVoice || in.Channel == ChannelMessaging || in.Channel == ChannelRecord,
		CodeInvalidInput, "The channel is VOICE, MESSAGING or RECORD.", "channel")
	if err := c.err(); err != nil {
		return nil, err
	}
	row := models.Queue{Name: name, NameKey: nameKey(name), Channel: in.Channel, Description: desc, DescriptionKey: keyOf(desc)}
	var q *models.Queue
	err := s.run(ctx, actor, "createQueue", func(t *txn) (outcome, error) {
		// A fresh row each attempt: an attempt rolled back may have set its ID.
		fresh := row
		q = &fresh
		if err := uniqueName(t, "queues", "queue", q.NameKey, 0); err != nil {
			return outcome{}, err
		}
		q.CreatedAt, q.UpdatedAt = t.now, t.now
		if err := insert(t, q, "queue"); err != nil {
			return outcome{}, err
		}
		return outcome{target: GlobalID(KindQueue, q.ID), details: map[string]any{"name": q.Name, "channel": q.Channel}}, nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// uniqueName refuses with ALREADY_EXISTS when another row of table (not
// id) has the name key, naming that row's name.
func uniqueName(t *txn, table, what, key string, id int64) error {
	taken, err := takenBy(t, table, "name", "name_key", key, id)
	if err != nil || taken == "" {
		return err
	}
	return refuse(CodeAlreadyExists, fmt.Sprintf("A %s named %q already exists: names are the same whatever their case, width, accent encoding, invisible characters and white space.", what, taken), "name")
}

// takenBy returns the column of the row of table (not id) whose keyColumn
// is key, or "" when there is none.
func takenBy(t *txn, table, column, keyColumn, key string, id int64) (string, error) {
	var held []string
	err := t.tx.Table(table).Where(keyColumn+" = ? AND id <> ?", key, id).Limit(1).Pluck(column, &held).Error
	if err != nil {
		return "", fmt.Errorf("look up %s.%s: %w", table, keyColumn, err)
	}
	if len(held) == 0 {
		return "", nil
	}
	return held[0], nil
}

// insert creates row, turning a unique-key race into ALREADY_EXISTS.
func insert(t *txn, row any, what string) error {
	if err := t.tx.Create(row).Error; err != nil {
		if isDuplicate(err) {
			return refuse(CodeAlreadyExists, fmt.Sprintf("A %s with this name already exists.", what), "name")
		}
		return fmt.Errorf("insert %s: %w", what, err)
	}
	return nil
}

// UpdateQueueInput is the input of UpdateQueue. A null name leaves the
// name as it is; a null description clears it.
type UpdateQueueInput struct {
	ID          int64
	Name        Opt[*string]
	Description Opt[*string]
}

// UpdateQueue renames a queue or changes its description. Refusals:
// INVALID_INPUT, NOT_FOUND, ALREADY_EXISTS.
func (s *Service) UpdateQueue(ctx context.Context, actor Actor, in UpdateQueueInput) (*models.Queue, error) {
	var c checker
	var name string
	if in.Name.Set && in.Name.Value != nil {
		name = cleanName(&c, *in.Name.Value, "name")
	}
	desc := cleanDescription(&c, in.Description.Value, "description")
	if err := c.err(); err != nil {
		return nil, err
	}
	var q *models.Queue
	err := s.run(ctx, actor, "updateQueue", func(t *txn) (outcome, error) {
		var err error
		if q, err = find[models.Queue](t, in.ID, "queue", "id"); err != nil {
			return outcome{}, err
		}
		renamed := name != "" && name != q.Name
		if renamed {
			if err := uniqueName(t, "queues", "queue", nameKey(name), q.ID); err != nil {
				return outcome{}, err
			}
			q.Name, q.NameKey = name, nameKey(name)
		}
		if in.Description.Set {
			q.Description, q.DescriptionKey = desc, keyOf(desc)
		}
		q.UpdatedAt = t.now
		if renamed { // blocker and warning messages name the queue
			if err := t.touch(KindQueue, q.ID); err != nil {
				return outcome{}, err
			}
		}
		if err := t.tx.Model(q).Select("name", "name_key", "description", "description_key", "updated_at").Updates(q).Error; err != nil {
			return outcome{}, fmt.Errorf("update queue: %w", err)
		}
		return outcome{target: GlobalID(KindQueue, q.ID), details: map[string]any{"name": q.Name, "description": q.Description}}, nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// DeleteQueue deletes a queue with its memberships and overflow setting. It
// is refused with IN_USE while an outbound profile uses the queue.
// Refusals: NOT_FOUND, IN_USE.
func (s *Service) DeleteQueue(ctx context.Context, actor Actor, id int64) error {
	return s.run(ctx, actor, "deleteQueue", func(t *txn) (outcome, error) {
		q, err := find[models.Queue](t, id, "queue", "id")
		if err != nil {
			return outcome{}, err
		}
		used, err := count(t, "outbound_profiles", "queue_id = ?", q.ID)
		if err != nil {
			return outcome{}, err
		}
		if used > 0 {
			return outcome{}, refuse(CodeInUse, fmt.Sprintf("Queue %q is used by %d outbound profile(s): delete them or give them another queue first.", q.Name, used), "id")
		}
		// Its memberships go with it (ON DELETE CASCADE).
		if err := t.tx.Delete(q).Error; err != nil {
			return outcome{}, fmt.Errorf("delete queue: %w", err)
		}
		return outcome{target: GlobalID(KindQueue, q.ID), details: map[string]any{"name": q.Name}}, nil
	})
}

// QueueMembersInput is the input of AddAgentsToQueue and
// RemoveAgentsFromQueue.
type QueueMembersInput struct {
	QueueID  int64
	AgentIDs []int64
}

// AddAgentsToQueue makes the agents members of the queue; those that
// already are stay so. Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) AddAgentsToQueue(ctx context.Context, actor Actor, in QueueMembersInput) (*models.Queue, error) {
	return s.changeQueueMembers(ctx, actor, "addAgentsToQueue", in, true)
}

// RemoveAgentsFromQueue ends the agents' membership of the queue; agents
// that are not members are ignored. Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) RemoveAgentsFromQueue(ctx context.Context, actor Actor, in QueueMembersInput) (*models.Queue, error) {
	return s.changeQueueMembers(ctx, actor, "removeAgentsFromQueue", in, false)
}

func (s *Service) changeQueueMembers(ctx context.Context, actor Actor, action string, in QueueMembersInput, add bool) (*models.Queue, error) {
	if err := checkIDList(in.AgentIDs, "agentIds"); err != nil {
		return nil, err
	}
	var q *models.Queue
	err := s.run(ctx, actor, action, func(t *txn) (outcome, error) {
		var err error
		if q, err = find[models.Queue](t, in.QueueID, "queue", "queueId"); err != nil {
			return outcome{}, err
		}
		if _, err := findAgents(t, in.AgentIDs, "agentIds"); err != nil {
			return outcome{}, err
		}
		n, err := changeMembers(t, "queue_members", "queue_id", q.ID, in.AgentIDs, add)
		if err != nil {
			return outcome{}, err
		}
		if n > 0 {
			if err := t.touch(KindAgent, in.AgentIDs...); err != nil {
				return outcome{}, err
			}
		}
		return outcome{target: GlobalID(KindQueue, q.ID), details: map[string]any{"agents": globalIDs(KindAgent, in.AgentIDs), "changed": n}}, nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// checkIDList refuses an empty list or one longer than MaxListLen.
func checkIDList(ids []int64, field string) error {
	if len(ids) > MaxListLen {
		return refuse(CodeInvalidInput, fmt.Sprintf("At most %d IDs at once.", MaxListLen), field)
	}
	return nil
}

// changeMembers inserts or deletes the (owner, agent) rows of a membership
// table with set semantics and returns how many rows changed.
func changeMembers(t *txn, table, ownerColumn string, ownerID int64, agentIDs []int64, add bool) (int, error) {
	ids := uniqueSorted(agentIDs)
	if len(ids) == 0 {
		return 0, nil
	}
	present, err := pluckIDs(t, fmt.Sprintf("SELECT agent_id FROM %s WHERE %s = ? AND agent_id IN ?", table, ownerColumn), ownerID, ids)
	if err != nil {
		return 0, err
	}
	if !add {
		if len(present) == 0 {
			return 0, nil
		}
		res := t.tx.Exec(fmt.Sprintf("DELETE FROM %s WHERE %s = ? AND agent_id IN ?", table, ownerColumn), ownerID, present)
		if res.Error != nil {
			return 0, fmt.Errorf("delete from %s: %w", table, res.Error)
		}
		return len(present), nil
	}
	isPresent := make(map[int64]bool, len(present))
	for _, id := range present {
		isPresent[id] = true
	}
	var rows []map[string]any
	for _, id := range ids {
		if !isPresent[id] {
			rows = append(rows, map[string]any{ownerColumn: ownerID, "agent_id": id})
		}
	}
	if len(rows) == 0 {
		return 0, nil
	}
	if err := t.tx.Table(table).CreateInBatches(rows, 500).Error; err != nil {
		return 0, fmt.Errorf("insert into %s: %w", table, err)
	}
	return len(rows), nil
}

func globalIDs(kind Kind, ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = GlobalID(kind, id)
	}
	return out
}

// SetQueueOverflowInput is the input of SetQueueOverflow.
type SetQueueOverflowInput struct {
	QueueID int64
	// TransferTo is any common notation of the target, with an extension
	// if it has one.
	TransferTo string
	// Region is the ISO 3166-1 alpha-2 country of a TransferTo written
	// without a country code; nil or "" means the server's default region.
	Region           *string
	CallerIDNumberID int64
}

// SetQueueOverflow makes a voice queue transfer its overflow to an external
// number, with a caller ID that has MAKE_CALLS (the transfer leg is an
// outbound call). The target may be any valid number (mobile included) but
// a premium-rate, shared-cost or personal one, and never the caller ID
// itself (the transfer would call its own line); its extension is kept and
// dialled once the transfer connects. Refusals: INVALID_PHONE_NUMBER,
// INVALID_INPUT (an unknown region, the caller ID as the target),
// NOT_FOUND, QUEUE_NOT_VOICE, NUMBER_NOT_OUTBOUND_ENABLED.
func (s *Service) SetQueueOverflow(ctx context.Context, actor Actor, in SetQueueOverflowInput) (*models.Queue, error) {
	var c checker
	var target ParsedNumber
	if reg, ok := pickRegion(&c, in.Region, s.defaultRegion, "region"); ok {
		var refusal *Error
		if target, refusal = transferTarget(in.TransferTo, reg, "transferTo"); refusal != nil {
			c.add(refusal)
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var q *models.Queue
	err := s.run(ctx, actor, "setQueueOverflow", func(t *txn) (outcome, error) {
		var err error
		if q, err = find[models.Queue](t, in.QueueID, "queue", "queueId"); err != nil {
			return outcome{}, err
		}
		if q.Channel != ChannelVoice {
			return outcome{}, refuse(CodeQueueNotVoice, fmt.Sprintf("Queue %q is a %s queue; overflow transfer is for VOICE queues.", q.Name, q.Channel), "queueId")
		}
		n, err := find[models.PhoneNumber](t, in.CallerIDNumberID, "phone number", "callerIdNumberId")
		if err != nil {
			return outcome{}, err
		}
		if !n.MakeCalls {
			return outcome{}, refuse(CodeNumberNotOutboundEnabled,
				fmt.Sprintf("%s has no MAKE_CALLS in its calling plan: upgrade it first (the transfer is an outbound call).", n.E164), "callerIdNumberId")
		}
		if n.E164 == target.E164 {
			return outcome{}, refuse(CodeInvalidInput, fmt.Sprintf(
				"%s is the overflow's own caller ID: the transfer would call the line it is made from. Transfer to an external number.", n.E164), "transferTo")
		}
		q.OverflowTransferTo, q.OverflowTransferExtension, q.OverflowCallerID, q.UpdatedAt = &target.E164, nonEmpty(target.Extension), &n.ID, t.now
		if err := t.tx.Model(q).Select("overflow_transfer_to", "overflow_transfer_extension", "overflow_caller_id", "updated_at").
			Updates(q).Error; err != nil {
			return outcome{}, fmt.Errorf("update queue overflow: %w", err)
		}
		return outcome{target: GlobalID(KindQueue, q.ID), details: map[string]any{"transferTo": target.E164,
			"transferToExtension": q.OverflowTransferExtension, "callerId": GlobalID(KindPhoneNumber, n.ID)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}

// nonEmpty returns nil for "" and &s otherwise.
func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ClearQueueOverflow removes a queue's overflow setting (a no-op when it has
// none). Refusals: NOT_FOUND.
func (s *Service) ClearQueueOverflow(ctx context.Context, actor Actor, queueID int64) (*models.Queue, error) {
	var q *models.Queue
	err := s.run(ctx, actor, "clearQueueOverflow", func(t *txn) (outcome, error) {
		var err error
		if q, err = find[models.Queue](t, queueID, "queue", "id"); err != nil {
			return outcome{}, err
		}
		q.OverflowTransferTo, q.OverflowTransferExtension, q.OverflowCallerID, q.UpdatedAt = nil, nil, nil, t.now
		if err := t.tx.Model(q).Select("overflow_transfer_to", "overflow_transfer_extension", "overflow_caller_id", "updated_at").
			Updates(q).Error; err != nil {
			return outcome{}, fmt.Errorf("clear queue overflow: %w", err)
		}
		return outcome{target: GlobalID(KindQueue, q.ID)}, nil
	})
	if err != nil {
		return nil, err
	}
	return q, nil
}
