-- Who created a webhook endpoint: the API token, so that an agent app's
-- endpoint quota counts the endpoints its own AGENT tokens made, not those
-- an ADMIN made for its agent. NULL for endpoints made before this column
-- existed (they count as made by an ADMIN).
-- +goose Up
ALTER TABLE webhook_endpoints ADD COLUMN created_by_token_id INTEGER;
CREATE INDEX webhook_endpoints_created_by ON webhook_endpoints (created_by_token_id);

-- +goose Down
DROP INDEX webhook_endpoints_created_by;
ALTER TABLE webhook_endpoints DROP COLUMN created_by_token_id;
