-- The dispatcher claims first attempts (attempt_count = 0) and retries on
-- separate workers. With this index each claim reads just the due rows of
-- its lane, in order (retries one range per attempt count). It replaces
-- webhook_deliveries_due, which it covers. (MySQL has no partial index:
-- SQLite's version holds pending rows only.)
-- +goose Up
DROP INDEX webhook_deliveries_due ON webhook_deliveries;
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (status, attempt_count, next_attempt_at);

-- +goose Down
DROP INDEX webhook_deliveries_lane ON webhook_deliveries;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
