-- The dispatcher claims first attempts (attempt_count = 0) and retries on
-- separate workers. This index holds pending deliveries only, by attempt
-- count and due time: each claim reads just the due rows of its lane, in
-- order, and a finished delivery leaves the index instead of moving in it,
-- so the index stays as small as the queue however long the history.
-- It replaces webhook_deliveries_due, which it covers.
-- +goose Up
DROP INDEX webhook_deliveries_due;
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (attempt_count, next_attempt_at) WHERE status = 'PENDING';

-- +goose Down
DROP INDEX webhook_deliveries_lane;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
