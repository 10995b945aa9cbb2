-- A failing endpoint (failing_since set) has one attempt, its probe,
-- running at a time across all processes (webhooks/pacer.go). The claim
-- that takes a probe now records it on the endpoint's row: probe_owner is
-- the claim's lease token, probe_until when the probe's attempt has
-- certainly ended (the claim's time, the wait for a worker, the attempt's
-- timeout and a margin); the result's write clears both, fenced on the
-- token. Until now a claim counted the leased deliveries of each failing
-- endpoint through webhook_deliveries_leased (lease_expires_at,
-- endpoint_id), which served nothing else, yet every lease inserted into
-- it and every result deleted from it: about 5 % of the deliveries a
-- second of the fan-out on SQLite (BenchmarkFanOut). An endpoint row is
-- written only when a probe starts and when it ends. A process that dies
-- mid-probe holds the endpoint's probes until probe_until, seconds, not
-- for the delivery's lease (2 minutes).
-- +goose Up
ALTER TABLE webhook_endpoints ADD COLUMN probe_owner TEXT;
ALTER TABLE webhook_endpoints ADD COLUMN probe_until DATETIME;
DROP INDEX webhook_deliveries_leased;

-- +goose Down
CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (lease_expires_at, endpoint_id) WHERE lease_expires_at IS NOT NULL;
ALTER TABLE webhook_endpoints DROP COLUMN probe_until;
ALTER TABLE webhook_endpoints DROP COLUMN probe_owner;
