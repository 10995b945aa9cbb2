-- The dispatcher claims each endpoint's due deliveries apart, a few at a
-- time and round-robin across endpoints, so that an endpoint with a large
-- backlog (a dead one, say) is never read past. The first index gives one
-- endpoint's pending deliveries of one attempt count in due order: each
-- claim seeks it once per endpoint and reads just the rows it takes. The
-- second holds the deliveries leased now (a finished delivery's
-- lease_expires_at is NULL, below any time), so that a claim counts those
-- of a failing endpoint (its breaker lets one attempt run at a time)
-- without reading its backlog. (MySQL has no partial index: SQLite's
-- versions hold pending and leased rows only.)
-- The third gives the age of the oldest pending delivery, which the
-- dispatcher reports every few seconds, without reading the backlog.
-- +goose Up
CREATE INDEX webhook_deliveries_fair ON webhook_deliveries (endpoint_id, status, attempt_count, next_attempt_at);
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_expires_at, endpoint_id);
CREATE INDEX webhook_deliveries_pending_age ON webhook_deliveries (status, created_at);

-- +goose Down
DROP INDEX webhook_deliveries_pending_age ON webhook_deliveries;
DROP INDEX webhook_deliveries_leased ON webhook_deliveries;
DROP INDEX webhook_deliveries_fair ON webhook_deliveries;
