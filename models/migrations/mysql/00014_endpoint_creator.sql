-- Who created a webhook endpoint: the API token, so that an agent app's
-- endpoint quota counts the endpoints its own AGENT tokens made, not those
-- an ADMIN made for its agent. NULL for endpoints made before this column
-- existed (they count as made by an ADMIN).
-- +goose Up
ALTER TABLE webhook_endpoints ADD COLUMN created_by_token_id BIGINT NULL,
  ADD INDEX webhook_endpoints_created_by (created_by_token_id);

-- +goose Down
ALTER TABLE webhook_endpoints DROP INDEX webhook_endpoints_created_by, DROP COLUMN created_by_token_id;
