package calling

import "fmt"

// Quotas: how many objects of a kind may exist. A create beyond one is
// refused with QUOTA_EXCEEDED and no field (the input is not at fault);
// the message names the limit and what frees a place.
const (
	// MaxEndpoints bounds the live webhook endpoints of the whole service.
	MaxEndpoints = 1000
	// MaxAgentEndpoints bounds the live webhook endpoints an agent's apps
	// made: those created by the AGENT tokens of one agent. Endpoints an
	// ADMIN made for the agent do not count.
	MaxAgentEndpoints = 20
	// MaxStaffTokens bounds the active (not revoked) ADMIN and VIEWER
	// tokens together.
	MaxStaffTokens = 1000
	// MaxAgentTokens bounds the active AGENT tokens of one agent (its apps
	// and devices).
	MaxAgentTokens = 10
)

// checkEndpointQuota refuses a new webhook endpoint beyond MaxEndpoints
// or, for an AGENT token, beyond MaxAgentEndpoints made by its agent's
// apps.
func checkEndpointQuota(t *txn, actor Actor) error {
	n, err := count(t, "webhook_endpoints", "deleted_at IS NULL")
	if err != nil {
		return err
	}
	if n >= MaxEndpoints {
		return overQuota(fmt.Sprintf("The service already has %d webhook endpoints, the most allowed (%d): delete unused ones first (deleteWebhookEndpoint).", n, MaxEndpoints))
	}
	if actor.Role != RoleAgent || actor.AgentID == nil {
		return nil
	}
	mine, err := count(t, "webhook_endpoints", "deleted_at IS NULL AND created_by_token_id IN (SELECT id FROM api_tokens WHERE role = ? AND agent_id = ?)",
		string(RoleAgent), *actor.AgentID)
	if err != nil {
		return err
	}
	if mine >= MaxAgentEndpoints {
		return overQuota(fmt.Sprintf("This agent's apps already made %d webhook endpoints, the most allowed (%d): delete one they no longer use first (deleteWebhookEndpoint).", mine, MaxAgentEndpoints))
	}
	return nil
}

// checkTokenQuota refuses a new active token of role beyond
// MaxStaffTokens (ADMIN and VIEWER) or MaxAgentTokens (AGENT, per agent).
func checkTokenQuota(t *txn, role Role, agentID *int64) error {
	if role == RoleAgent && agentID != nil {
		n, err := count(t, "api_tokens", "revoked_at IS NULL AND role = ? AND agent_id = ?", string(RoleAgent), *agentID)
		if err != nil {
			return err
		}
		if n >= MaxAgentTokens {
			return overQuota(fmt.Sprintf("This agent already has %d active AGENT tokens, the most allowed (%d): revoke one it no longer uses first (revokeApiToken).", n, MaxAgentTokens))
		}
		return nil
	}
	n, err := count(t, "api_tokens", "revoked_at IS NULL AND role IN ?", []string{string(RoleAdmin), string(RoleViewer)})
	if err != nil {
		return err
	}
	if n >= MaxStaffTokens {
		return overQuota(fmt.Sprintf("There are already %d active ADMIN and VIEWER tokens, the most allowed (%d): revoke unused ones first (revokeApiToken).", n, MaxStaffTokens))
	}
	return nil
}

// createdBy returns the token ID of actor to record as an object's creator,
// or nil for an actor that is no token (the server itself).
func createdBy(actor Actor) *int64 {
	if actor.TokenID == 0 {
		return nil
	}
	id := actor.TokenID
	return &id
}
