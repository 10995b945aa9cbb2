-- An overflow transfer target may carry an extension ("+1 206 555 0100
-- ext. 42"): the digits dialled once the transfer connects. It is kept
-- beside the E.164 number instead of being dropped.
-- +goose Up
ALTER TABLE queues ADD COLUMN overflow_transfer_extension VARCHAR(20) NULL AFTER overflow_transfer_to;

-- +goose Down
ALTER TABLE queues DROP COLUMN overflow_transfer_extension;
