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
ALTER TABLE webhook_deliveries ADD INDEX webhook_deliveries_finished (status, updated_at);
ALTER TABLE webhook_events ADD INDEX webhook_events_occurred_at (occurred_at);
ALTER TABLE audit_entries ADD INDEX audit_entries_at (at);
ALTER TABLE webhook_endpoints ADD INDEX webhook_endpoints_deleted_at (deleted_at);

CREATE TABLE retention_marks (
  table_name     VARCHAR(64) NOT NULL PRIMARY KEY,
  max_deleted_id BIGINT NOT NULL,
  pruned_at      DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE deleted_agents (
  agent_id    BIGINT NOT NULL PRIMARY KEY,
  deleted_at  DATETIME(6) NOT NULL,
  scrubbed_at DATETIME(6),
  KEY deleted_agents_scrubbed_at (scrubbed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

ALTER TABLE webhook_endpoint_agents DROP FOREIGN KEY webhook_endpoint_agents_agent_fk;

-- +goose Down
DELETE FROM webhook_endpoint_agents WHERE agent_id NOT IN (SELECT id FROM agents);
ALTER TABLE webhook_endpoint_agents ADD CONSTRAINT webhook_endpoint_agents_agent_fk
  FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE;
DROP TABLE deleted_agents;
DROP TABLE retention_marks;
ALTER TABLE webhook_endpoints DROP INDEX webhook_endpoints_deleted_at;
ALTER TABLE audit_entries DROP INDEX audit_entries_at;
ALTER TABLE webhook_events DROP INDEX webhook_events_occurred_at;
ALTER TABLE webhook_deliveries DROP INDEX webhook_deliveries_finished;
