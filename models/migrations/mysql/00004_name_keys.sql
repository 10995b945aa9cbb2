-- Names, emails, labels and descriptions are compared by their key
-- (package names: NFKC and Unicode case folding, invisible characters and
-- extra white space left out), kept beside the text in a *_key column.
-- Emails and API token names become unique by key, as queue and profile
-- names are; agent names, labels and descriptions are searched by key.
--
-- Keys are binary strings (VARBINARY, MEDIUMBLOB): compared byte for byte,
-- with no collation and no PAD SPACE, so that '=' and LIKE on a key answer
-- exactly as on SQLite. A key may be longer than its text ("ﬃ" is "ffi"):
-- a unique key holds up to 768 characters (3072 bytes, what a unique index
-- holds; longer names are refused), a searched description's key any size.
--
-- SQL cannot compute the key: these statements give each new column a
-- provisional value (the text itself, unique where the text was), and the
-- server recomputes every key in Go when it starts, in one transaction,
-- refusing to start when two existing rows share a key.
-- +goose Up
ALTER TABLE queues MODIFY name_key VARBINARY(3072) NOT NULL,
  ADD COLUMN description_key MEDIUMBLOB AFTER description;
UPDATE queues SET description_key = description;

ALTER TABLE capacity_profiles MODIFY name_key VARBINARY(3072) NOT NULL;
ALTER TABLE outbound_profiles MODIFY name_key VARBINARY(3072) NOT NULL;

ALTER TABLE agents ADD COLUMN name_key VARBINARY(3072) NOT NULL DEFAULT '' AFTER name,
  ADD COLUMN email_key VARBINARY(3072) NOT NULL DEFAULT '' AFTER email;
UPDATE agents SET name_key = name, email_key = email;
ALTER TABLE agents ADD UNIQUE KEY agents_email_key (email_key);

ALTER TABLE api_tokens ADD COLUMN name_key VARBINARY(3072) NOT NULL DEFAULT '' AFTER name;
UPDATE api_tokens SET name_key = name;
ALTER TABLE api_tokens ADD UNIQUE KEY api_tokens_name_key (name_key);

ALTER TABLE phone_numbers ADD COLUMN label_key MEDIUMBLOB AFTER label;
UPDATE phone_numbers SET label_key = label;

-- +goose Down
ALTER TABLE phone_numbers DROP COLUMN label_key;
ALTER TABLE api_tokens DROP KEY api_tokens_name_key, DROP COLUMN name_key;
ALTER TABLE agents DROP KEY agents_email_key, DROP COLUMN email_key, DROP COLUMN name_key;
ALTER TABLE outbound_profiles MODIFY name_key VARCHAR(200) NOT NULL;
ALTER TABLE capacity_profiles MODIFY name_key VARCHAR(200) NOT NULL;
ALTER TABLE queues DROP COLUMN description_key, MODIFY name_key VARCHAR(200) NOT NULL;
