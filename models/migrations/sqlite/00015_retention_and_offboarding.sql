-- Retention (webhooks/prune.go) and agent offboarding (calling, deleteAgent).
--
-- The pruner finds what is older than the retention through an index on
-- each predicate, a batch at a time, never by reading a whole table:
-- finished deliveries by (status, updated_at), events by occurred_at,
-- audit entries by at, deleted endpoints by deleted_at.
--
-- retention_marks keeps, per table, the highest ID the pruner deleted and
-- when: an ID at or below it that is not found any more was deleted as
-- older than the retention (redeliverWebhook and the subscription feed say
-- so, instead of "not found").
--
-- deleted_agents lists the agents deleteAgent removed whose name and email
-- may still be in stored webhook event bodies or audit details: the pruner
-- blanks them there once no delivery of the agent's events is pending
-- (pending ones are sent as written), then sets scrubbed_at.
--
-- webhook_endpoint_agents no longer cascades from agents: an endpoint
-- filtered to an agent that was deleted keeps its filter (and receives
-- nothing more) rather than losing it and receiving every agent's events.
-- +goose Up
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, updated_at);
CREATE INDEX webhook_events_occurred_at ON webhook_events (occurred_at);
CREATE INDEX audit_entries_at ON audit_entries (at);
CREATE INDEX webhook_endpoints_deleted_at ON webhook_endpoints (deleted_at);

CREATE TABLE retention_marks (
  table_name     TEXT PRIMARY KEY,
  max_deleted_id INTEGER NOT NULL,
  pruned_at      DATETIME NOT NULL
);

CREATE TABLE deleted_agents (
  agent_id    INTEGER PRIMARY KEY,
  deleted_at  DATETIME NOT NULL,
  scrubbed_at DATETIME
);
CREATE INDEX deleted_agents_scrubbed_at ON deleted_agents (scrubbed_at);

CREATE TABLE webhook_endpoint_agents_new (
  endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  agent_id    INTEGER NOT NULL,
  PRIMARY KEY (endpoint_id, agent_id)
);
INSERT INTO webhook_endpoint_agents_new (endpoint_id, agent_id) SELECT endpoint_id, agent_id FROM webhook_endpoint_agents;
DROP TABLE webhook_endpoint_agents;
ALTER TABLE webhook_endpoint_agents_new RENAME TO webhook_endpoint_agents;
CREATE INDEX webhook_endpoint_agents_agent_id ON webhook_endpoint_agents (agent_id);

-- +goose Down
DELETE FROM webhook_endpoint_agents WHERE agent_id NOT IN (SELECT id FROM agents);
CREATE TABLE webhook_endpoint_agents_old (
  endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  PRIMARY KEY (endpoint_id, agent_id)
);
INSERT INTO webhook_endpoint_agents_old (endpoint_id, agent_id) SELECT endpoint_id, agent_id FROM webhook_endpoint_agents;
DROP TABLE webhook_endpoint_agents;
ALTER TABLE webhook_endpoint_agents_old RENAME TO webhook_endpoint_agents;
CREATE INDEX webhook_endpoint_agents_agent_id ON webhook_endpoint_agents (agent_id);
DROP TABLE deleted_agents;
DROP TABLE retention_marks;
DROP INDEX webhook_endpoints_deleted_at;
DROP INDEX audit_entries_at;
DROP INDEX webhook_events_occurred_at;
DROP INDEX webhook_deliveries_finished;
