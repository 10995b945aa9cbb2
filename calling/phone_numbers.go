package calling

import (
	"context"
	"fmt"
	"slices"

	"github.com/nyaruka/phonenumbers"

	"outdial/models"
	"outdial/webhooks"
)

// Phone number types (GraphQL PhoneNumberType).
const (
	TypeGeographic = "GEOGRAPHIC"
	TypeTollFree   = "TOLL_FREE"
)

// ownNumber reads a number to add (addPhoneNumber): only geographic and
// toll-free numbers, without an extension (a number added here is a line
// of its own); anything else is refused with INVALID_PHONE_NUMBER naming
// what is wrong.
func ownNumber(raw string, reg region, path ...string) (ParsedNumber, *Error) {
	num, refusal := readNumber(raw, reg, path...)
	if refusal != nil {
		return ParsedNumber{}, refusal
	}
	p := ParsedNumber{E164: phonenumbers.Format(num, phonenumbers.E164), CountryCode: phonenumbers.GetRegionCodeForNumber(num)}
	if ext := num.GetExtension(); ext != "" {
		return ParsedNumber{}, refuse(CodeInvalidPhoneNumber, fmt.Sprintf(
			"%s has an extension (%s): a number added here is a line of its own, so give it without the extension, e.g. %s.",
			quoteInput(raw), ext, p.E164), path...)
	}
	switch t := phonenumbers.GetNumberType(num); t {
	case phonenumbers.TOLL_FREE:
		p.Type = TypeTollFree
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE:
		p.Type = TypeGeographic
	default:
		return ParsedNumber{}, refuse(CodeInvalidPhoneNumber,
			fmt.Sprintf("%s is a %s number; only geographic and toll-free numbers can be added.", p.E164, numberTypeName(t)), path...)
	}
	return p, nil
}

// costlyTypes are the number types an overflow never transfers to: they
// charge the caller above ordinary rates (per minute or per call) and are
// the usual targets of toll fraud.
var costlyTypes = []phonenumbers.PhoneNumberType{phonenumbers.PREMIUM_RATE, phonenumbers.SHARED_COST, phonenumbers.PERSONAL_NUMBER}

// transferTarget reads an overflow transfer target: any valid number but
// the costly types (premium-rate, shared-cost, personal), with its
// extension, which the transfer dials once it connects. Refusals:
// INVALID_PHONE_NUMBER.
func transferTarget(raw string, reg region, path ...string) (ParsedNumber, *Error) {
	num, refusal := readNumber(raw, reg, path...)
	if refusal != nil {
		return ParsedNumber{}, refusal
	}
	t := phonenumbers.GetNumberType(num)
	p := ParsedNumber{E164: phonenumbers.Format(num, phonenumbers.E164), CountryCode: phonenumbers.GetRegionCodeForNumber(num),
		Type: numberTypeName(t), Extension: num.GetExtension()}
	if slices.Contains(costlyTypes, t) {
		return ParsedNumber{}, refuse(CodeInvalidPhoneNumber, fmt.Sprintf(
			"%s is a %s number: overflow calls are not transferred to premium-rate, shared-cost or personal numbers, "+
				"which charge above ordinary rates and are a common target of toll fraud; transfer to a geographic, mobile or toll-free number.",
			p.E164, p.Type), path...)
	}
	return p, nil
}

func numberTypeName(t phonenumbers.PhoneNumberType) string {
	switch t {
	case phonenumbers.FIXED_LINE, phonenumbers.FIXED_LINE_OR_MOBILE:
		return "geographic"
	case phonenumbers.TOLL_FREE:
		return "toll-free"
	case phonenumbers.MOBILE:
		return "mobile"
	case phonenumbers.PREMIUM_RATE:
		return "premium-rate"
	case phonenumbers.SHARED_COST:
		return "shared-cost"
	case phonenumbers.VOIP:
		return "VoIP"
	case phonenumbers.PERSONAL_NUMBER:
		return "personal (follow-me)"
	case phonenumbers.PAGER:
		return "pager"
	case phonenumbers.UAN:
		return "universal access (UAN)"
	case phonenumbers.VOICEMAIL:
		return "voicemail"
	default:
		return "unknown-type"
	}
}

// Plan returns a number's calling plan, sorted.
func Plan(n *models.PhoneNumber) []Capability {
	plan := []Capability{}
	if n.ReceiveCalls {
		plan = append(plan, ReceiveCalls)
	}
	if n.MakeCalls {
		plan = append(plan, MakeCalls)
	}
	return plan
}

// checkCapabilities refuses an empty list or an unknown capability.
func checkCapabilities(c *checker, caps []Capability, path ...string) {
	if len(caps) == 0 {
		c.add(refuse(CodeInvalidInput, "Name at least one capability.", path...))
	}
	for _, cp := range caps {
		if cp != ReceiveCalls && cp != MakeCalls {
			c.add(refuse(CodeInvalidInput, fmt.Sprintf("Unknown capability %q.", cp), path...))
		}
	}
}

// AddPhoneNumberInput is the input of AddPhoneNumber.
type AddPhoneNumberInput struct {
	// Number is any common notation of the number, without an extension.
	Number string
	// Region is the ISO 3166-1 alpha-2 country of a number written without
	// a country code; nil or "" means the server's default region.
	Region *string
	Label  *string
	// CallingPlan defaults to [RECEIVE_CALLS] when nil.
	CallingPlan []Capability
}

// AddPhoneNumber registers a number, stored in E.164. Refusals:
// INVALID_PHONE_NUMBER (not a valid geographic or toll-free number, an
// extension, more than MaxPhoneNumberLen characters), INVALID_INPUT (an
// unknown region, the label), ALREADY_EXISTS.
func (s *Service) AddPhoneNumber(ctx context.Context, actor Actor, in AddPhoneNumberInput) (*models.PhoneNumber, error) {
	var c checker
	var parsed ParsedNumber
	if reg, ok := pickRegion(&c, in.Region, s.defaultRegion, "region"); ok {
		var refusal *Error
		if parsed, refusal = ownNumber(in.Number, reg, "number"); refusal != nil {
			c.add(refusal)
		}
	}
	label := cleanText(&c, in.Label, MaxLabelLen, "label", "label")
	plan := in.CallingPlan
	if plan == nil {
		plan = []Capability{ReceiveCalls}
	}
	checkCapabilities(&c, plan, "callingPlan")
	if err := c.err(); err != nil {
		return nil, err
	}
	row := models.PhoneNumber{E164: parsed.E164, CountryCode: parsed.CountryCode, Type: parsed.Type, Label: label,
		ReceiveCalls: slices.Contains(plan, ReceiveCalls), MakeCalls: slices.Contains(plan, MakeCalls)}
	var n *models.PhoneNumber
	err := s.run(ctx, actor, "addPhoneNumber", func(t *txn) (outcome, error) {
		// A fresh row each attempt: an attempt rolled back may have set its ID.
		fresh := row
		n = &fresh
		taken, err := count(t, "phone_numbers", "e164 = ?", n.E164)
		if err != nil {
			return outcome{}, err
		}
		if taken > 0 {
			return outcome{}, refuse(CodeAlreadyExists, fmt.Sprintf("%s is already registered.", n.E164), "number")
		}
		n.CreatedAt, n.UpdatedAt = t.now, t.now
		if err := t.tx.Create(n).Error; err != nil {
			if isDuplicate(err) {
				return outcome{}, refuse(CodeAlreadyExists, fmt.Sprintf("%s is already registered.", n.E164), "number")
			}
			return outcome{}, fmt.Errorf("insert phone number: %w", err)
		}
		return outcome{target: GlobalID(KindPhoneNumber, n.ID),
			details: map[string]any{"e164": n.E164, "type": n.Type, "callingPlan": Plan(n), "label": n.Label}}, nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// ChangeCallingPlanInput is the input of UpgradeCallingPlan and
// DowngradeCallingPlan.
type ChangeCallingPlanInput struct {
	PhoneNumberID int64
	Capabilities  []Capability
}

// UpgradeCallingPlan adds capabilities to a number's calling plan. Adding
// MAKE_CALLS makes it a caller ID of its outbound profiles and of the agent
// holding it as a personal number. Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) UpgradeCallingPlan(ctx context.Context, actor Actor, in ChangeCallingPlanInput) (*models.PhoneNumber, error) {
	return s.changePlan(ctx, actor, "upgradeCallingPlan", in, true)
}

// DowngradeCallingPlan removes capabilities from a number's calling plan.
// Removing MAKE_CALLS is refused with IN_USE while the number is a queue's
// overflow caller ID; it is allowed for numbers of outbound profiles and
// personal numbers, whose agents lose them as caller IDs. Refusals:
// INVALID_INPUT, NOT_FOUND, IN_USE.
func (s *Service) DowngradeCallingPlan(ctx context.Context, actor Actor, in ChangeCallingPlanInput) (*models.PhoneNumber, error) {
	return s.changePlan(ctx, actor, "downgradeCallingPlan", in, false)
}

func (s *Service) changePlan(ctx context.Context, actor Actor, action string, in ChangeCallingPlanInput, add bool) (*models.PhoneNumber, error) {
	var c checker
	checkCapabilities(&c, in.Capabilities, "capabilities")
	if err := c.err(); err != nil {
		return nil, err
	}
	var n *models.PhoneNumber
	err := s.run(ctx, actor, action, func(t *txn) (outcome, error) {
		var err error
		if n, err = find[models.PhoneNumber](t, in.PhoneNumberID, "phone number", "phoneNumberId"); err != nil {
			return outcome{}, err
		}
		before := Plan(n)
		for _, cp := range in.Capabilities {
			switch cp {
			case ReceiveCalls:
				n.ReceiveCalls = add
			case MakeCalls:
				n.MakeCalls = add
			}
		}
		after := Plan(n)
		out := outcome{target: GlobalID(KindPhoneNumber, n.ID),
			details: map[string]any{"e164": n.E164, "callingPlan": after, "previous": before}}
		if slices.Equal(before, after) {
			return out, nil
		}
		if !n.MakeCalls && slices.Contains(before, MakeCalls) {
			overflow, err := count(t, "queues", "overflow_caller_id = ?", n.ID)
			if err != nil {
				return outcome{}, err
			}
			if overflow > 0 {
				return outcome{}, refuse(CodeInUse,
					fmt.Sprintf("%s is the overflow caller ID of a queue, which needs MAKE_CALLS: clear or change that overflow first.", n.E164), "phoneNumberId")
			}
		}
		n.UpdatedAt = t.now
		if err := t.tx.Model(n).Select("receive_calls", "make_calls", "updated_at").Updates(n).Error; err != nil {
			return outcome{}, fmt.Errorf("update calling plan: %w", err)
		}
		t.emit(webhooks.Event{Type: webhooks.TypeCallingPlanChanged, Data: CallingPlanChangedData{
			PhoneNumber: EventPhoneNumber{ID: GlobalID(KindPhoneNumber, n.ID), E164: n.E164},
			CallingPlan: after, Previous: before,
		}})
		if slices.Contains(before, MakeCalls) != n.MakeCalls {
			if err := t.touch(KindPhoneNumber, n.ID); err != nil {
				return outcome{}, err
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// UpdatePhoneNumberInput is the input of UpdatePhoneNumber.
type UpdatePhoneNumberInput struct {
	ID    int64
	Label Opt[*string]
}

// UpdatePhoneNumber changes a number's label (null or "" clears it).
// Refusals: INVALID_INPUT, NOT_FOUND.
func (s *Service) UpdatePhoneNumber(ctx context.Context, actor Actor, in UpdatePhoneNumberInput) (*models.PhoneNumber, error) {
	var c checker
	label := cleanText(&c, in.Label.Value, MaxLabelLen, "label", "label")
	if err := c.err(); err != nil {
		return nil, err
	}
	var n *models.PhoneNumber
	err := s.run(ctx, actor, "updatePhoneNumber", func(t *txn) (outcome, error) {
		var err error
		if n, err = find[models.PhoneNumber](t, in.ID, "phone number", "id"); err != nil {
			return outcome{}, err
		}
		if in.Label.Set {
			n.Label, n.UpdatedAt = label, t.now
			if err := t.tx.Model(n).Select("label", "updated_at").Updates(n).Error; err != nil {
				return outcome{}, fmt.Errorf("update phone number: %w", err)
			}
		}
		return outcome{target: GlobalID(KindPhoneNumber, n.ID), details: map[string]any{"label": n.Label}}, nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

// ReleasePhoneNumber removes a number. It is refused with IN_USE while the
// number is a personal number, a caller ID of an outbound profile or a
// queue's overflow caller ID. Refusals: NOT_FOUND, IN_USE.
func (s *Service) ReleasePhoneNumber(ctx context.Context, actor Actor, id int64) error {
	return s.run(ctx, actor, "releasePhoneNumber", func(t *txn) (outcome, error) {
		n, err := find[models.PhoneNumber](t, id, "phone number", "id")
		if err != nil {
			return outcome{}, err
		}
		uses := []struct {
			table, where, why string
		}{
			{"agents", "personal_number_id = ?", "it is an agent's personal number: unassign it first"},
			{"outbound_profile_numbers", "phone_number_id = ?", "it is a caller ID of an outbound profile: remove it from the profile first"},
			{"queues", "overflow_caller_id = ?", "it is a queue's overflow caller ID: clear that overflow first"},
		}
		for _, u := range uses {
			k, err := count(t, u.table, u.where, n.ID)
			if err != nil {
				return outcome{}, err
			}
			if k > 0 {
				return outcome{}, refuse(CodeInUse, fmt.Sprintf("%s cannot be released: %s.", n.E164, u.why), "id")
			}
		}
		if err := t.tx.Delete(n).Error; err != nil {
			return outcome{}, fmt.Errorf("delete phone number: %w", err)
		}
		return outcome{target: GlobalID(KindPhoneNumber, n.ID), details: map[string]any{"e164": n.E164}}, nil
	})
}
