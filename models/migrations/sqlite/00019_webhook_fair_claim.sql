-- The dispatcher claims each endpoint's due deliveries apart, a few at a
-- time and round-robin across endpoints, so that an endpoint with a large
-- backlog (a dead one, say) is never read past. The first index gives one
-- endpoint's pending deliveries of one attempt count in due order: each
-- claim seeks it once per endpoint and reads just the rows it takes. The
-- second holds the deliveries leased now, so that a claim counts those of
-- a failing endpoint (its breaker lets one attempt run at a time) without
-- reading its backlog.
-- The third gives the age of the oldest pending delivery, which the
-- dispatcher reports every few seconds, without reading the backlog.
-- +goose Up
CREATE INDEX webhook_deliveries_fair ON webhook_deliveries (endpoint_id, attempt_count, next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_expires_at, endpoint_id) WHERE lease_expires_at IS NOT NULL;
CREATE INDEX webhook_deliveries_pending_age ON webhook_deliveries (created_at) WHERE status = 'PENDING';

-- +goose Down
DROP INDEX webhook_deliveries_pending_age;
DROP INDEX webhook_deliveries_leased;
DROP INDEX webhook_deliveries_fair;
