-- Names, emails, labels and descriptions are compared by their key
-- (package names: NFKC and Unicode case folding, invisible characters and
-- extra white space left out), kept beside the text in a *_key column.
-- Emails and API token names become unique by key, as queue and profile
-- names are; agent names, labels and descriptions are searched by key.
--
-- SQL cannot compute the key: these statements give each new column a
-- provisional value (the text itself, unique where the text was), and the
-- server recomputes every key in Go when it starts, in one transaction,
-- refusing to start when two existing rows share a key.
-- +goose Up
ALTER TABLE agents ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
UPDATE agents SET name_key = name, email_key = email;
CREATE UNIQUE INDEX agents_email_key ON agents (email_key);

ALTER TABLE api_tokens ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
UPDATE api_tokens SET name_key = name;
CREATE UNIQUE INDEX api_tokens_name_key ON api_tokens (name_key);

ALTER TABLE queues ADD COLUMN description_key TEXT;
UPDATE queues SET description_key = description;

ALTER TABLE phone_numbers ADD COLUMN label_key TEXT;
UPDATE phone_numbers SET label_key = label;

-- +goose Down
ALTER TABLE phone_numbers DROP COLUMN label_key;
ALTER TABLE queues DROP COLUMN description_key;
DROP INDEX api_tokens_name_key;
ALTER TABLE api_tokens DROP COLUMN name_key;
DROP INDEX agents_email_key;
ALTER TABLE agents DROP COLUMN email_key;
ALTER TABLE agents DROP COLUMN name_key;
