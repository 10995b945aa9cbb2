package calling

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	neturl "net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"outdial/models"
	"outdial/names"
	"outdial/webhooks"
)

// MaxOverlapSeconds bounds the overlap of a secret rotation: 7 days. The
// endpoint quotas are in quotas.go.
const MaxOverlapSeconds = 7 * 24 * 60 * 60

// agentEventTypes are the event types an AGENT token may subscribe to.
var agentEventTypes = []string{webhooks.TypeAbilityChanged, webhooks.TypeTest}

// wireTypes are the valid event types.
var wireTypes = []string{webhooks.TypeAbilityChanged, webhooks.TypeCallingPlanChanged, webhooks.TypeTest}

// Endpoint is a webhook endpoint with its agent filter. It never carries
// the signing secret.
type Endpoint struct {
	Row      models.WebhookEndpoint
	AgentIDs []int64
}

// CreateWebhookEndpointInput is the input of CreateWebhookEndpoint.
type CreateWebhookEndpointInput struct {
	URL         string
	Description *string
	// EventTypes are wire names; empty means every type.
	EventTypes []string
	// AgentIDs empty means every agent (for an AGENT token: its own).
	AgentIDs []int64
}

// CreateWebhookEndpoint registers an endpoint and returns it with its
// signing secret, which is shown only here. An AGENT token may register
// endpoints for its own agent only, and only for agent.calling_ability.changed
// and webhook.test. Refusals: INVALID_INPUT, INVALID_URL, URL_NOT_ALLOWED,
// NOT_FOUND, OUT_OF_SCOPE, QUOTA_EXCEEDED (MaxEndpoints; for an AGENT
// token, MaxAgentEndpoints made by its agent's apps).
func (s *Service) CreateWebhookEndpoint(ctx context.Context, actor Actor, in CreateWebhookEndpointInput) (*Endpoint, string, error) {
	var c checker
	url := s.checkURL(&c, in.URL, "url")
	desc := cleanDescription(&c, in.Description, "description")
	types := checkEventTypes(&c, in.EventTypes)
	agents := in.AgentIDs
	c.check(len(agents) <= MaxListLen, CodeInvalidInput, fmt.Sprintf("At most %d agents.", MaxListLen), "agentIds")
	if err := c.err(); err != nil {
		return nil, "", err
	}
	if actor.Role == RoleAgent {
		if len(agents) == 0 && actor.AgentID != nil {
			agents = []int64{*actor.AgentID}
		}
		if err := checkAgentScope(actor, agents, types); err != nil {
			return nil, "", err
		}
	}
	secret := webhooks.NewSecret()
	ep := &Endpoint{AgentIDs: uniqueSorted(agents)}
	err := s.run(ctx, actor, "createWebhookEndpoint", func(t *txn) (outcome, error) {
		if err := checkEndpointQuota(t, actor); err != nil {
			return outcome{}, err
		}
		if _, err := findAgents(t, agents, "agentIds"); err != nil {
			return outcome{}, err
		}
		ep.Row = models.WebhookEndpoint{URL: url, Description: desc, EventTypes: strings.Join(types, ","),
			Enabled: true, Secret: secret, CreatedAt: t.now, UpdatedAt: t.now, CreatedByTokenID: createdBy(actor)}
		if err := t.tx.Create(&ep.Row).Error; err != nil {
			return outcome{}, fmt.Errorf("insert webhook endpoint: %w", err)
		}
		if err := setEndpointAgents(t, ep.Row.ID, ep.AgentIDs); err != nil {
			return outcome{}, err
		}
		return outcome{target: GlobalID(KindWebhookEndpoint, ep.Row.ID), details: endpointDetails(ep)}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

func endpointDetails(ep *Endpoint) map[string]any {
	return map[string]any{"url": ep.Row.URL, "eventTypes": webhooks.SplitTypes(ep.Row.EventTypes),
		"agents": globalIDs(KindAgent, ep.AgentIDs), "enabled": ep.Row.Enabled}
}

// checkURL validates a webhook URL, mapping the guard's verdict to
// INVALID_URL or URL_NOT_ALLOWED. White space at the ends is trimmed; an
// invisible, bidirectional control or control character inside refuses
// it, since a URL is taken exactly as given.
func (s *Service) checkURL(c *checker, raw string, path ...string) string {
	url := strings.TrimFunc(raw, unicode.IsSpace)
	if err := names.Visible(url); err != nil {
		c.add(refuse(CodeInvalidURL, fmt.Sprintf("The URL is not valid: it contains %s.", err), path...))
		return url
	}
	err := webhooks.ValidateURL(url, s.allowedCIDRs)
	var ue *webhooks.URLError
	switch {
	case err == nil:
	case errors.As(err, &ue) && errors.Is(err, webhooks.ErrURLNotAllowed):
		c.add(refuse(CodeURLNotAllowed, "The URL's address is not allowed: "+ue.Reason+". "+allowHint(url), path...))
	case errors.As(err, &ue):
		c.add(refuse(CodeInvalidURL, "The URL is not valid: "+ue.Reason+".", path...))
	default:
		c.add(refuse(CodeInvalidURL, "The URL is not valid.", path...))
	}
	return url
}

// allowHint says how an administrator lets webhooks reach the literal
// address of rawURL: the server setting WEBHOOK_ALLOWED_CIDRS (flag
// -webhook-allowed-cidrs), with the address's own prefix as the example.
func allowHint(rawURL string) string {
	example := "127.0.0.0/8"
	if u, err := neturl.Parse(rawURL); err == nil {
		if a, err := netip.ParseAddr(u.Hostname()); err == nil {
			a = a.Unmap().WithZone("")
			example = netip.PrefixFrom(a, a.BitLen()).String()
		}
	}
	return fmt.Sprintf("To allow it, start the server with its network in WEBHOOK_ALLOWED_CIDRS (flag -webhook-allowed-cidrs), e.g. %s.", example)
}

// checkEventTypes refuses unknown types and returns them without
// duplicates, sorted.
func checkEventTypes(c *checker, types []string) []string {
	for _, t := range types {
		c.check(slices.Contains(wireTypes, t), CodeInvalidInput, fmt.Sprintf("Unknown event type %q.", t), "eventTypes")
	}
	out := slices.Clone(types)
	slices.Sort(out)
	return slices.Compact(out)
}

// checkAgentScope refuses, for an AGENT token, an agent filter other than
// its own agent and event types other than its own.
func checkAgentScope(actor Actor, agents []int64, types []string) error {
	if actor.AgentID == nil || !slices.Equal(uniqueSorted(agents), []int64{*actor.AgentID}) {
		return refuse(CodeOutOfScope, "An AGENT token manages endpoints for its own agent only: set agentIds to [its agent] or leave it empty.", "agentIds")
	}
	for _, t := range types {
		if !slices.Contains(agentEventTypes, t) {
			return refuse(CodeOutOfScope, "An AGENT token subscribes to AGENT_CALLING_ABILITY_CHANGED and WEBHOOK_TEST only.", "eventTypes")
		}
	}
	return nil
}

func setEndpointAgents(t *txn, endpointID int64, agentIDs []int64) error {
	if err := t.tx.Where("endpoint_id = ?", endpointID).Delete(&models.WebhookEndpointAgent{}).Error; err != nil {
		return fmt.Errorf("clear endpoint agents: %w", err)
	}
	rows := make([]models.WebhookEndpointAgent, len(agentIDs))
	for i, id := range agentIDs {
		rows[i] = models.WebhookEndpointAgent{EndpointID: endpointID, AgentID: id}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := t.tx.CreateInBatches(&rows, 500).Error; err != nil {
		return fmt.Errorf("store endpoint agents: %w", err)
	}
	return nil
}

// findEndpoint loads a live endpoint that actor may manage: NOT_FOUND for
// a missing or deleted one, OUT_OF_SCOPE for an AGENT token and an endpoint
// that is not exactly for its agent.
func findEndpoint(t *txn, actor Actor, id int64, path ...string) (*Endpoint, error) {
	row, err := find[models.WebhookEndpoint](t, id, "webhook endpoint", path...)
	if err != nil {
		return nil, err
	}
	if row.DeletedAt != nil {
		return nil, refuse(CodeNotFound, "No webhook endpoint has this ID.", path...)
	}
	agents, err := pluckIDs(t, "SELECT agent_id FROM webhook_endpoint_agents WHERE endpoint_id = ? ORDER BY agent_id", id)
	if err != nil {
		return nil, err
	}
	ep := &Endpoint{Row: *row, AgentIDs: agents}
	if actor.Role == RoleAgent && !OwnsEndpoint(actor, agents) {
		return nil, refuse(CodeOutOfScope, "This endpoint is not limited to this token's agent.", path...)
	}
	return ep, nil
}

// MaySeeDelivery reports whether actor may see a delivery (of an endpoint
// it may see) about agentID (nil: not about an agent, e.g. webhook.test).
// An AGENT token sees those about its own agent only, even on an endpoint
// that once listened to other agents too.
func MaySeeDelivery(actor Actor, agentID *int64) bool {
	if actor.Role != RoleAgent || agentID == nil {
		return true
	}
	return actor.AgentID != nil && *agentID == *actor.AgentID
}

// OwnsEndpoint reports whether an AGENT actor may manage an endpoint with
// this agent filter (exactly its own agent).
func OwnsEndpoint(actor Actor, agentIDs []int64) bool {
	return actor.AgentID != nil && slices.Equal(agentIDs, []int64{*actor.AgentID})
}

// UpdateWebhookEndpointInput is the input of UpdateWebhookEndpoint; nil
// fields are left as they are.
type UpdateWebhookEndpointInput struct {
	ID          int64
	URL         *string
	Description Opt[*string]
	EventTypes  []string
	AgentIDs    []int64
	Enabled     *bool
}

// UpdateWebhookEndpoint changes an endpoint. Disabling it fails its pending
// deliveries; enabling it clears disabledReason and resumes deliveries of
// new events. For an AGENT token, empty agentIds means its own agent, as
// on creation. Refusals: as CreateWebhookEndpoint.
func (s *Service) UpdateWebhookEndpoint(ctx context.Context, actor Actor, in UpdateWebhookEndpointInput) (*Endpoint, error) {
	var c checker
	var url string
	if in.URL != nil {
		url = s.checkURL(&c, *in.URL, "url")
	}
	desc := cleanDescription(&c, in.Description.Value, "description")
	var types []string
	if in.EventTypes != nil {
		types = checkEventTypes(&c, in.EventTypes)
	}
	c.check(len(in.AgentIDs) <= MaxListLen, CodeInvalidInput, fmt.Sprintf("At most %d agents.", MaxListLen), "agentIds")
	if err := c.err(); err != nil {
		return nil, err
	}
	var ep *Endpoint
	var sending bool // what the dispatchers send with changed: the URL, or whether it is enabled
	err := s.run(ctx, actor, "updateWebhookEndpoint", func(t *txn) (outcome, error) {
		var err error
		if ep, err = findEndpoint(t, actor, in.ID, "id"); err != nil {
			return outcome{}, err
		}
		url0, enabled0 := ep.Row.URL, ep.Row.Enabled
		if in.URL != nil {
			ep.Row.URL = url
		}
		if in.Description.Set {
			ep.Row.Description = desc
		}
		if in.EventTypes != nil {
			ep.Row.EventTypes = strings.Join(types, ",")
		}
		if in.AgentIDs != nil {
			agents := in.AgentIDs
			if len(agents) == 0 && actor.Role == RoleAgent && actor.AgentID != nil {
				agents = []int64{*actor.AgentID} // as on creation: its own agent
			}
			if _, err := findAgents(t, agents, "agentIds"); err != nil {
				return outcome{}, err
			}
			ep.AgentIDs = uniqueSorted(agents)
		}
		if actor.Role == RoleAgent {
			if err := checkAgentScope(actor, ep.AgentIDs, webhooks.SplitTypes(ep.Row.EventTypes)); err != nil {
				return outcome{}, err
			}
		}
		if err := t.setEnabled(ep, in.Enabled); err != nil {
			return outcome{}, err
		}
		sending = ep.Row.URL != url0 || ep.Row.Enabled != enabled0
		ep.Row.UpdatedAt = t.now
		if err := t.tx.Model(&ep.Row).Select("url", "description", "event_types", "enabled", "disabled_reason", "failing_since", "updated_at").
			Updates(&ep.Row).Error; err != nil {
			return outcome{}, fmt.Errorf("update webhook endpoint: %w", err)
		}
		if in.AgentIDs != nil {
			if err := setEndpointAgents(t, ep.Row.ID, ep.AgentIDs); err != nil {
				return outcome{}, err
			}
		}
		return outcome{target: GlobalID(KindWebhookEndpoint, ep.Row.ID), details: endpointDetails(ep)}, nil
	})
	if sending {
		s.endpointChanged(in.ID, err)
	}
	if err != nil {
		return nil, err
	}
	return ep, nil
}

// endpointChanged tells the dispatchers of this process (Outbox.EndpointChanged)
// that the URL, secret or enabled state of the endpoint id changed, or that
// it was deleted, by a command that committed (err is nil) or whose COMMIT
// may have landed (*OutcomeUnknownError): they then send nothing more with
// the endpoint's previous state. A COMMIT whose answer was only late is
// told of again when it comes, if it committed: a claim between the first
// notice and the COMMIT read the endpoint as it was. A description, event
// types or agents changed alone do not count: deliveries already written
// go on as they are.
func (s *Service) endpointChanged(id int64, err error) {
	unknown, isUnknown := errors.AsType[*OutcomeUnknownError](err)
	if err != nil && !isUnknown {
		return
	}
	s.outbox.EndpointChanged(id)
	if isUnknown && unknown.landed != nil {
		go func() {
			if <-unknown.landed {
				s.outbox.EndpointChanged(id)
			}
		}()
	}
}

// setEnabled applies an enabled change to ep (not yet saved).
func (t *txn) setEnabled(ep *Endpoint, enabled *bool) error {
	if enabled == nil || *enabled == ep.Row.Enabled {
		return nil
	}
	ep.Row.Enabled = *enabled
	if *enabled {
		ep.Row.DisabledReason, ep.Row.FailingSince = nil, nil
		return nil
	}
	_, err := t.deliveries.Fail(t.tx, ep.Row.ID, t.now)
	return err
}

// DeleteWebhookEndpoint deletes an endpoint; its pending deliveries become
// FAILED and its delivery history stays readable. Refusals: NOT_FOUND,
// OUT_OF_SCOPE.
func (s *Service) DeleteWebhookEndpoint(ctx context.Context, actor Actor, id int64) error {
	err := s.run(ctx, actor, "deleteWebhookEndpoint", func(t *txn) (outcome, error) {
		ep, err := findEndpoint(t, actor, id, "id")
		if err != nil {
			return outcome{}, err
		}
		if _, err := t.deliveries.Fail(t.tx, ep.Row.ID, t.now); err != nil {
			return outcome{}, err
		}
		err = t.tx.Model(&ep.Row).Updates(map[string]any{"deleted_at": t.now, "enabled": false, "updated_at": t.now}).Error
		if err != nil {
			return outcome{}, fmt.Errorf("delete webhook endpoint: %w", err)
		}
		return outcome{target: GlobalID(KindWebhookEndpoint, ep.Row.ID), details: map[string]any{"url": ep.Row.URL}}, nil
	})
	s.endpointChanged(id, err)
	return err
}

// RotateWebhookSecret gives an endpoint a new signing secret, returned only
// here; the old one keeps signing beside it for overlapSeconds (0 to
// MaxOverlapSeconds, 7 days), checked before it becomes a duration.
// Refusals: INVALID_INPUT, NOT_FOUND, OUT_OF_SCOPE.
func (s *Service) RotateWebhookSecret(ctx context.Context, actor Actor, id int64, overlapSeconds int) (*Endpoint, string, error) {
	if overlapSeconds < 0 || overlapSeconds > MaxOverlapSeconds {
		return nil, "", refuse(CodeInvalidInput,
			fmt.Sprintf("The overlap is 0 to %d seconds (7 days); %d is not.", MaxOverlapSeconds, overlapSeconds), "overlapSeconds")
	}
	overlap := time.Duration(overlapSeconds) * time.Second
	secret := webhooks.NewSecret()
	var ep *Endpoint
	err := s.run(ctx, actor, "rotateWebhookSecret", func(t *txn) (outcome, error) {
		var err error
		if ep, err = findEndpoint(t, actor, id, "id"); err != nil {
			return outcome{}, err
		}
		until := t.now.Add(overlap)
		prev := ep.Row.Secret
		ep.Row.PreviousSecret, ep.Row.PreviousSecretExpiresAt, ep.Row.Secret, ep.Row.UpdatedAt = &prev, &until, secret, t.now
		if overlap == 0 {
			ep.Row.PreviousSecret, ep.Row.PreviousSecretExpiresAt = nil, nil
		}
		if err := t.tx.Model(&ep.Row).Select("secret", "previous_secret", "previous_secret_expires_at", "updated_at").
			Updates(&ep.Row).Error; err != nil {
			return outcome{}, fmt.Errorf("rotate secret: %w", err)
		}
		return outcome{target: GlobalID(KindWebhookEndpoint, ep.Row.ID),
			details: map[string]any{"overlapSeconds": overlapSeconds}}, nil
	})
	s.endpointChanged(id, err)
	if err != nil {
		return nil, "", err
	}
	return ep, secret, nil
}

// SendTestWebhook sends a webhook.test event to one enabled endpoint and
// returns its delivery. Refusals: INVALID_INPUT (disabled), NOT_FOUND,
// OUT_OF_SCOPE.
func (s *Service) SendTestWebhook(ctx context.Context, actor Actor, id int64) (*models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := s.run(ctx, actor, "sendTestWebhook", func(t *txn) (outcome, error) {
		ep, err := findEndpoint(t, actor, id, "id")
		if err != nil {
			return outcome{}, err
		}
		if !ep.Row.Enabled {
			return outcome{}, refuse(CodeInvalidInput, "The endpoint is disabled: enable it first (updateWebhookEndpoint, enabled: true).", "id")
		}
		events, err := s.outbox.Enqueue(t.ctx, t.tx, []webhooks.Event{{Type: webhooks.TypeTest, EndpointID: &ep.Row.ID,
			Data: map[string]string{"endpointId": GlobalID(KindWebhookEndpoint, ep.Row.ID)}}})
		if err != nil {
			return outcome{}, err
		}
		if err := t.tx.Where("event_id = ? AND endpoint_id = ?", events[0].ID, ep.Row.ID).Take(&d).Error; err != nil {
			return outcome{}, fmt.Errorf("load test delivery: %w", err)
		}
		t.wake = true
		return outcome{target: GlobalID(KindWebhookEndpoint, ep.Row.ID), details: map[string]any{"messageId": events[0].MessageID}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// RedeliverWebhook sends a delivery's event again to its endpoint, as a new
// delivery with the same messageId. A version of an agent older than one
// that already reached the endpoint is not sent: the new delivery is
// SUPERSEDED at once (see webhooks.Deliveries.Redeliver). Refusals:
// INVALID_INPUT (endpoint disabled), NOT_FOUND (also, saying so, for a
// delivery deleted as older than the retention), OUT_OF_SCOPE.
func (s *Service) RedeliverWebhook(ctx context.Context, actor Actor, deliveryID int64) (*models.WebhookDelivery, error) {
	var d models.WebhookDelivery
	err := s.run(ctx, actor, "redeliverWebhook", func(t *txn) (outcome, error) {
		old, err := findDelivery(t, deliveryID)
		if err != nil {
			return outcome{}, err
		}
		ep, err := findEndpoint(t, actor, old.EndpointID, "id")
		if err != nil {
			return outcome{}, err
		}
		if !MaySeeDelivery(actor, old.AgentID) {
			return outcome{}, refuse(CodeOutOfScope, "This delivery is about another agent.", "id")
		}
		if !ep.Row.Enabled {
			return outcome{}, refuse(CodeInvalidInput, "The delivery's endpoint is disabled: enable it first.", "id")
		}
		if d, err = t.deliveries.Redeliver(t.tx, *old, t.now); err != nil {
			return outcome{}, err
		}
		t.wake = d.Status == webhooks.StatusPending
		return outcome{target: GlobalID(KindWebhookDelivery, d.ID),
			details: map[string]any{"of": GlobalID(KindWebhookDelivery, old.ID)}}, nil
	})
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// RecoverWebhookDeliveries queues again the FAILED deliveries of an
// endpoint created since a time, the latest state of each agent only (the
// rule: webhooks.Deliveries.Recover). An AGENT token recovers the
// deliveries it may see (MaySeeDelivery): its own agent's and those about
// no agent. Refusals: INVALID_INPUT (endpoint disabled; more than
// webhooks.MaxRecover failed deliveries since then), NOT_FOUND,
// OUT_OF_SCOPE.
func (s *Service) RecoverWebhookDeliveries(ctx context.Context, actor Actor, endpointID int64, since time.Time) (webhooks.Recovered, error) {
	var rec webhooks.Recovered
	err := s.run(ctx, actor, "recoverWebhookDeliveries", func(t *txn) (outcome, error) {
		ep, err := findEndpoint(t, actor, endpointID, "endpointId")
		if err != nil {
			return outcome{}, err
		}
		if !ep.Row.Enabled {
			return outcome{}, refuse(CodeInvalidInput, "The endpoint is disabled: enable it first.", "endpointId")
		}
		var agentID *int64
		if actor.Role == RoleAgent {
			agentID = actor.AgentID
		}
		rec, err = t.deliveries.Recover(t.tx, ep.Row.ID, since, agentID, t.now)
		if errors.Is(err, webhooks.ErrTooManyToRecover) {
			return outcome{}, refuse(CodeInvalidInput, fmt.Sprintf("More than %d deliveries failed since then: "+
				"recover a shorter time (a later since), then the time before it.", webhooks.MaxRecover), "since")
		}
		if err != nil {
			return outcome{}, err
		}
		t.wake = rec.Queued > 0
		return outcome{target: GlobalID(KindWebhookEndpoint, ep.Row.ID), details: map[string]any{
			"since": since.UTC().Format(time.RFC3339Nano), "queued": rec.Queued, "superseded": rec.Superseded}}, nil
	})
	return rec, err
}

// findDelivery loads the delivery id, or refuses with NOT_FOUND, saying
// when it was deleted as older than the retention (webhooks.Pruned).
func findDelivery(t *txn, id int64) (*models.WebhookDelivery, error) {
	d, err := find[models.WebhookDelivery](t, id, "webhook delivery", "id")
	if _, refused := Refusals(err); !refused {
		return d, err
	}
	pruned, perr := webhooks.Pruned(t.ctx, t.tx, webhooks.TableDeliveries, id)
	if perr != nil {
		return nil, perr
	}
	if pruned {
		return nil, refuse(CodeNotFound, "This delivery is older than the retention (RETENTION, 30 days unless set otherwise): "+
			"it was deleted with its attempts, and its event once no delivery needed it. It cannot be sent again.", "id")
	}
	return nil, err
}
