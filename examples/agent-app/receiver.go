package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Wire names of the event types this app subscribes to (docs/domain.md,
// "Webhooks").
const (
	typeAbilityChanged = "agent.calling_ability.changed"
	typeTest           = "webhook.test"
)

// maxBody bounds a webhook body; Outdial's are a few KiB at most.
const maxBody = 1 << 20

// event is the body of every webhook: {"type", "timestamp", "data"}.
type event struct {
	Type      string          `json:"type"`
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// abilityChanged is the data of agent.calling_ability.changed, with the
// fields this app uses (the body also carries IDs, the capacity settings
// of each caller ID and the previous state).
type abilityChanged struct {
	Agent struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
	} `json:"agent"`
	// Deleted is true on the last event of an agent that was deleted.
	Deleted bool `json:"deleted"`
	ability
}

// ability is an agent's calling ability at one version.
type ability struct {
	Version      int64      `json:"version"`
	CanMakeCalls bool       `json:"canMakeCalls"`
	CallerIDs    []callerID `json:"callerIds"`
	Blockers     []blocker  `json:"blockers"`
	// deleted: the agent was deleted (the event's "deleted").
	deleted bool
}

// callerID is a number the agent may call from.
type callerID struct {
	PhoneNumber         string `json:"phoneNumber"`
	Source              string `json:"source"` // OUTBOUND_PROFILE or PERSONAL_NUMBER
	OutboundProfileName string `json:"outboundProfileName"`
}

// blocker is a reason why the agent cannot call.
type blocker struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// describe says in one line what the agent can do, e.g. "can call from
// +14255550100 (Outbound sales), +12065550123 (personal)" or "cannot call:
// NOT_IN_PROFILE_QUEUE — <message>".
func (a ability) describe() string {
	if a.deleted {
		return "deleted: cannot call any more"
	}
	if !a.CanMakeCalls {
		why := make([]string, len(a.Blockers))
		for i, b := range a.Blockers {
			why[i] = b.Code + " — " + b.Message
		}
		return "cannot call: " + strings.Join(why, "; ")
	}
	from := make([]string, len(a.CallerIDs))
	for i, c := range a.CallerIDs {
		label := c.OutboundProfileName
		if c.Source == "PERSONAL_NUMBER" {
			label = "personal"
		}
		from[i] = fmt.Sprintf("%s (%s)", c.PhoneNumber, label)
	}
	return "can call from " + strings.Join(from, ", ")
}

// receiver is the webhook endpoint: it verifies each request's signature,
// applies each agent's newest ability and prints it to out.
type receiver struct {
	out io.Writer
	log *slog.Logger

	mu      sync.Mutex
	wh      *standardwebhooks.Webhook // nil until the endpoint is registered
	applied map[string]int64          // agent ID → version printed last
}

// newReceiver returns a receiver that prints to out and logs to log.
func newReceiver(out io.Writer, log *slog.Logger) *receiver {
	return &receiver{out: out, log: log, applied: make(map[string]int64)}
}

// setSecret sets the signing secret (whsec_…) that createWebhookEndpoint
// returned. It is kept in memory only and never logged.
func (r *receiver) setSecret(secret string) error {
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		return errors.New("the endpoint's secret is not a whsec_ secret")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.wh = wh
	return nil
}

func (r *receiver) verifier() *standardwebhooks.Webhook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wh
}

// ServeHTTP answers a webhook: 204 once its signature is verified and it
// is applied (or ignored as old), 401 for a bad signature or a timestamp
// outside the library's 5-minute tolerance, 503 while the secret is not
// known yet (Outdial retries), 400 for a body this app cannot read.
func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, maxBody))
	if err != nil {
		http.Error(w, "body too large or unreadable", http.StatusBadRequest)
		return
	}
	id := req.Header.Get(standardwebhooks.HeaderWebhookID)
	wh := r.verifier()
	if wh == nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "not ready", http.StatusServiceUnavailable)
		return
	}
	if err := wh.Verify(body, req.Header); err != nil {
		r.log.Warn("rejected a webhook", "webhook-id", id, "remote", req.RemoteAddr, "err", err)
		http.Error(w, "invalid signature", http.StatusUnauthorized)
		return
	}
	if err := r.handle(id, body); err != nil {
		r.log.Error("could not read a verified webhook", "webhook-id", id, "err", err)
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handle acts on one verified webhook body.
func (r *receiver) handle(id string, body []byte) error {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return err
	}
	switch ev.Type {
	case typeAbilityChanged:
		var d abilityChanged
		if err := json.Unmarshal(ev.Data, &d); err != nil {
			return err
		}
		if d.Deleted {
			d.ability.deleted = true
		}
		if !r.apply(d.Agent.ID, d.Agent.Name, d.ability) {
			r.log.Info("ignored an old version", "webhook-id", id, "agent", d.Agent.Name, "version", d.Version)
		}
	case typeTest:
		fmt.Fprintf(r.out, "test webhook %s received, signature verified\n", id)
	default:
		r.log.Info("ignored an event type", "webhook-id", id, "type", ev.Type)
	}
	return nil
}

// apply prints ab as the agent's ability unless a version as new or newer
// was applied already (retries and out-of-order deliveries are expected);
// it reports whether it did.
func (r *receiver) apply(agentID, name string, ab ability) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.applied[agentID]; ok && ab.Version <= last {
		return false
	}
	r.applied[agentID] = ab.Version
	fmt.Fprintf(r.out, "%s, version %d: %s\n", name, ab.Version, ab.describe())
	return true
}
