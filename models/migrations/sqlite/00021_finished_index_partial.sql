-- webhook_deliveries_finished (status, updated_at) serves the pruner
-- (webhooks/prune.go, deliveriesOf, the one statement that names it),
-- which reads finished deliveries only (SUCCEEDED, FAILED, SUPERSEDED),
-- and the API's list of the deliveries of one status. Its PENDING entries
-- served only that list filtered to PENDING (which now counts and pages
-- through webhook_deliveries_pending_age, calling.WebhookDeliveries), yet
-- every lease, release, retry and result of a delivery changes
-- updated_at, so each moved the delivery's entry in this index too.
-- Partial, it is written when a delivery finishes and after
-- (BenchmarkFanOut on SQLite: x-bare about 0.44 before, 0.47 after, 8
-- alternated runs). SQLite reads a partial index only for a query whose
-- WHERE holds the index's condition as written: the pruner's query and
-- the list (calling.WebhookDeliveries) say status <> 'PENDING' literally.
-- +goose Up
DROP INDEX webhook_deliveries_finished;
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, updated_at) WHERE status <> 'PENDING';

-- +goose Down
DROP INDEX webhook_deliveries_finished;
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, updated_at);
