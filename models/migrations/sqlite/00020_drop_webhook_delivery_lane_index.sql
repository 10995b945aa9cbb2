-- webhook_deliveries_lane (attempt_count, next_attempt_at) served the
-- dispatcher's claim before the fair claim, which reads
-- webhook_deliveries_fair instead; no statement reads it any more. Every
-- lease, renewal and result of a delivery moves next_attempt_at, so it
-- was one more index changed per delivery at each of those steps
-- (BenchmarkFanOut, BENCHMARKS.md).
-- +goose Up
DROP INDEX webhook_deliveries_lane;

-- +goose Down
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (attempt_count, next_attempt_at) WHERE status = 'PENDING';
