package calling

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"outdial/models"
)

// CreateOutboundProfileInput is the input of CreateOutboundProfile.
type CreateOutboundProfileInput struct {
	Name              string
	QueueID           int64
	CapacityProfileID int64
	PhoneNumberIDs    []int64
	IsDefault         bool
	CallerIDName      *string
}

// CreateOutboundProfile ties a voice queue, a capacity profile and caller
// IDs together; the agents in both the queue and the capacity profile can
// then call from its numbers. Making it the default clears the previous
// default. Refusals: INVALID_INPUT, NOT_FOUND, ALREADY_EXISTS,
// QUEUE_NOT_VOICE, NUMBER_NOT_OUTBOUND_ENABLED, NUMBER_ALREADY_ASSIGNED.
func (s *Service) CreateOutboundProfile(ctx context.Context, actor Actor, in CreateOutboundProfileInput) (*models.OutboundProfile, error) {
	var c checker
	name := cleanName(&c, in.Name, "name")
	cnam := cleanCallerIDName(&c, in.CallerIDName, "callerIdName")
	checkNumberList(&c, in.PhoneNumberIDs)
	if err := c.err(); err != nil {
		return nil, err
	}
	row := models.OutboundProfile{Name: name, NameKey: nameKey(name), QueueID: in.QueueID,
		CapacityProfileID: in.CapacityProfileID, CallerIDName: cnam}
	var p *models.OutboundProfile
	err := s.run(ctx, actor, "createOutboundProfile", func(t *txn) (outcome, error) {
		// A fresh row each attempt: an attempt rolled back may have set its ID.
		fresh := row
		p = &fresh
		if err := uniqueName(t, "outbound_profiles", "outbound profile", p.NameKey, 0); err != nil {
			return outcome{}, err
		}
		if err := checkProfileParts(t, p); err != nil {
			return outcome{}, err
		}
		if err := checkCallerIDs(t, in.PhoneNumberIDs, nil); err != nil {
			return outcome{}, err
		}
		if in.IsDefault {
			if err := t.takeDefault(); err != nil {
				return outcome{}, err
			}
			p.DefaultMarker = defaultMarker()
		}
		p.CreatedAt, p.UpdatedAt = t.now, t.now
		if err := insert(t, p, "outbound profile"); err != nil {
			return outcome{}, err
		}
		if err := setProfileNumbers(t, p.ID, in.PhoneNumberIDs); err != nil {
			return outcome{}, err
		}
		if err := t.touch(KindOutboundProfile, p.ID); err != nil {
			return outcome{}, err
		}
		return outcome{target: GlobalID(KindOutboundProfile, p.ID), details: profileDetails(p, in.PhoneNumberIDs)}, nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func defaultMarker() *int { one := 1; return &one }

func profileDetails(p *models.OutboundProfile, numberIDs []int64) map[string]any {
	d := map[string]any{"name": p.Name, "queueId": GlobalID(KindQueue, p.QueueID),
		"capacityProfileId": GlobalID(KindCapacityProfile, p.CapacityProfileID),
		"isDefault":         p.IsDefault(), "callerIdName": p.CallerIDName}
	if numberIDs != nil {
		d["phoneNumberIds"] = globalIDs(KindPhoneNumber, numberIDs)
	}
	return d
}

// checkNumberList refuses an empty caller ID list or one longer than
// MaxListLen.
func checkNumberList(c *checker, ids []int64) {
	c.check(len(ids) > 0, CodeInvalidInput, "An outbound profile needs at least one phone number (its caller IDs).", "phoneNumberIds")
	c.check(len(ids) <= MaxListLen, CodeInvalidInput, fmt.Sprintf("At most %d phone numbers.", MaxListLen), "phoneNumberIds")
}

// checkProfileParts refuses an unknown queue or capacity profile, or a
// queue that is not VOICE.
func checkProfileParts(t *txn, p *models.OutboundProfile) error {
	q, err := find[models.Queue](t, p.QueueID, "queue", "queueId")
	if err != nil {
		return err
	}
	if q.Channel != ChannelVoice {
		return refuse(CodeQueueNotVoice, fmt.Sprintf("Queue %q is a %s queue; an outbound profile needs a VOICE queue.", q.Name, q.Channel), "queueId")
	}
	_, err = find[models.CapacityProfile](t, p.CapacityProfileID, "capacity profile", "capacityProfileId")
	return err
}

// checkCallerIDs refuses unknown numbers, numbers held as personal
// numbers and, among the numbers not already in current, numbers without
// MAKE_CALLS. Errors name the index in phoneNumberIds.
func checkCallerIDs(t *txn, ids []int64, current []int64) error {
	var nums []models.PhoneNumber
	if err := t.tx.Where("id IN ?", uniqueSorted(ids)).Find(&nums).Error; err != nil {
		return fmt.Errorf("load phone numbers: %w", err)
	}
	byID := make(map[int64]models.PhoneNumber, len(nums))
	for _, n := range nums {
		byID[n.ID] = n
	}
	personal, err := pluckIDs(t, "SELECT personal_number_id FROM agents WHERE personal_number_id IN ?", uniqueSorted(ids))
	if err != nil {
		return err
	}
	for i, id := range ids {
		at := strconv.Itoa(i)
		n, ok := byID[id]
		switch {
		case !ok:
			return refuse(CodeNotFound, "No phone number has this ID.", "phoneNumberIds", at)
		case slices.Contains(personal, id):
			return refuse(CodeNumberAlreadyAssigned, fmt.Sprintf("%s is an agent's personal number and cannot also be a profile's caller ID.", n.E164), "phoneNumberIds", at)
		case !n.MakeCalls && !slices.Contains(current, id):
			return refuse(CodeNumberNotOutboundEnabled, fmt.Sprintf("%s has no MAKE_CALLS in its calling plan: upgrade it first (upgradeCallingPlan).", n.E164), "phoneNumberIds", at)
		}
	}
	return nil
}

// setProfileNumbers replaces the caller IDs of a profile.
func setProfileNumbers(t *txn, profileID int64, ids []int64) error {
	if err := t.tx.Where("outbound_profile_id = ?", profileID).Delete(&models.OutboundProfileNumber{}).Error; err != nil {
		return fmt.Errorf("clear profile numbers: %w", err)
	}
	rows := make([]models.OutboundProfileNumber, 0, len(ids))
	for _, id := range uniqueSorted(ids) {
		rows = append(rows, models.OutboundProfileNumber{OutboundProfileID: profileID, PhoneNumberID: id})
	}
	if err := t.tx.CreateInBatches(&rows, 500).Error; err != nil {
		return fmt.Errorf("store profile numbers: %w", err)
	}
	return nil
}

// takeDefault clears the current default profile, if any, touching it
// first: which profile is the default decides the caller IDs of every
// agent holding a personal number.
func (t *txn) takeDefault() error {
	if err := t.touchDefault(); err != nil {
		return err
	}
	if err := t.tx.Model(&models.OutboundProfile{}).Where("default_marker IS NOT NULL").
		Updates(map[string]any{"default_marker": nil, "updated_at": t.now}).Error; err != nil {
		return fmt.Errorf("clear default profile: %w", err)
	}
	return nil
}

// UpdateOutboundProfileInput is the input of UpdateOutboundProfile. A nil
// (or unset) field is left as it is, except CallerIDName, which a null
// clears.
type UpdateOutboundProfileInput struct {
	ID                int64
	Name              *string
	QueueID           *int64
	CapacityProfileID *int64
	PhoneNumberIDs    []int64 // nil: unchanged; otherwise replaces the list
	IsDefault         *bool
	CallerIDName      Opt[*string]
}

// UpdateOutboundProfile changes an outbound profile; the abilities of the
// agents of its old and new capacity profile follow. Refusals: as
// CreateOutboundProfile.
func (s *Service) UpdateOutboundProfile(ctx context.Context, actor Actor, in UpdateOutboundProfileInput) (*models.OutboundProfile, error) {
	var c checker
	var name string
	if in.Name != nil {
		name = cleanName(&c, *in.Name, "name")
	}
	cnam := cleanCallerIDName(&c, in.CallerIDName.Value, "callerIdName")
	if in.PhoneNumberIDs != nil {
		checkNumberList(&c, in.PhoneNumberIDs)
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	var p *models.OutboundProfile
	err := s.run(ctx, actor, "updateOutboundProfile", func(t *txn) (outcome, error) {
		var err error
		if p, err = find[models.OutboundProfile](t, in.ID, "outbound profile", "id"); err != nil {
			return outcome{}, err
		}
		// Its agents before the change; refreshTouched adds those after.
		if err := t.touch(KindOutboundProfile, p.ID); err != nil {
			return outcome{}, err
		}
		if name != "" && name != p.Name {
			if err := uniqueName(t, "outbound_profiles", "outbound profile", nameKey(name), p.ID); err != nil {
				return outcome{}, err
			}
			p.Name, p.NameKey = name, nameKey(name)
		}
		if in.QueueID != nil {
			p.QueueID = *in.QueueID
		}
		if in.CapacityProfileID != nil {
			p.CapacityProfileID = *in.CapacityProfileID
		}
		if err := checkProfileParts(t, p); err != nil {
			return outcome{}, err
		}
		if in.CallerIDName.Set {
			p.CallerIDName = cnam
		}
		if in.PhoneNumberIDs != nil {
			current, err := pluckIDs(t, "SELECT phone_number_id FROM outbound_profile_numbers WHERE outbound_profile_id = ?", p.ID)
			if err != nil {
				return outcome{}, err
			}
			if err := checkCallerIDs(t, in.PhoneNumberIDs, current); err != nil {
				return outcome{}, err
			}
		}
		if err := t.updateDefault(p, in.IsDefault); err != nil {
			return outcome{}, err
		}
		p.UpdatedAt = t.now
		if err := t.tx.Model(p).Select("name", "name_key", "queue_id", "capacity_profile_id", "default_marker", "caller_id_name", "updated_at").Updates(p).Error; err != nil {
			if isDuplicate(err) {
				return outcome{}, refuse(CodeAlreadyExists, "An outbound profile with this name already exists.", "name")
			}
			return outcome{}, fmt.Errorf("update outbound profile: %w", err)
		}
		if in.PhoneNumberIDs != nil {
			if err := setProfileNumbers(t, p.ID, in.PhoneNumberIDs); err != nil {
				return outcome{}, err
			}
		}
		return outcome{target: GlobalID(KindOutboundProfile, p.ID), details: profileDetails(p, in.PhoneNumberIDs)}, nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// updateDefault applies an isDefault change to p (not yet saved; touched
// already).
func (t *txn) updateDefault(p *models.OutboundProfile, isDefault *bool) error {
	switch {
	case isDefault == nil || *isDefault == p.IsDefault():
		return nil
	case *isDefault:
		if err := t.takeDefault(); err != nil {
			return err
		}
		p.DefaultMarker = defaultMarker()
		return nil
	default:
		p.DefaultMarker = nil
		return nil
	}
}

// DeleteOutboundProfile deletes an outbound profile; its agents lose its
// caller IDs (and, if it was the default, personal numbers lose their
// governing profile). Refusals: NOT_FOUND.
func (s *Service) DeleteOutboundProfile(ctx context.Context, actor Actor, id int64) error {
	return s.run(ctx, actor, "deleteOutboundProfile", func(t *txn) (outcome, error) {
		p, err := find[models.OutboundProfile](t, id, "outbound profile", "id")
		if err != nil {
			return outcome{}, err
		}
		if err := t.touch(KindOutboundProfile, p.ID); err != nil {
			return outcome{}, err
		}
		if err := t.tx.Where("outbound_profile_id = ?", p.ID).Delete(&models.OutboundProfileNumber{}).Error; err != nil {
			return outcome{}, fmt.Errorf("delete profile numbers: %w", err)
		}
		if err := t.tx.Delete(p).Error; err != nil {
			return outcome{}, fmt.Errorf("delete outbound profile: %w", err)
		}
		return outcome{target: GlobalID(KindOutboundProfile, p.ID), details: map[string]any{"name": p.Name}}, nil
	})
}
