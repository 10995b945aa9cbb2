-- The subscription gives each ability change the time of the agent's
-- previous version, read in the statement that reads the events: each
-- event looks up its agent's version - 1, which this index finds at once
-- (webhook_events_agent_id would read the agent's whole history).
-- The API lists deliveries filtered by agent, newest first: the second
-- index reads just that agent's deliveries, in order.
-- +goose Up
CREATE INDEX webhook_events_agent_version ON webhook_events (agent_id, version);
CREATE INDEX webhook_deliveries_agent_id ON webhook_deliveries (agent_id, id);

-- +goose Down
DROP INDEX webhook_deliveries_agent_id;
DROP INDEX webhook_events_agent_version;
