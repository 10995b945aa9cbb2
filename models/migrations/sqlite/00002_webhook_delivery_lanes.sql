-- The dispatcher claims first attempts (attempt_count = 0) and retries on
-- separate workers; this index lets the first-attempt claim read only due
-- first attempts, in due order, however many retries are waiting.
-- +goose Up
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (status, attempt_count, next_attempt_at);

-- +goose Down
DROP INDEX webhook_deliveries_lane;
