-- Reads that stay fast at 100,000 agents (BENCHMARKS.md).
--
-- A text index for the agent search (agents(filter: {search})): an FTS5
-- table with the trigram tokenizer over the name and email keys, kept in
-- step with agents by triggers. A search of three characters or more reads
-- the agents whose keys hold each of its trigrams from it instead of
-- scanning every key; the LIKE that decides stays the same (calling,
-- "Text filters"), so the answers do not change.
--
-- Maintained counts, kept by triggers in the transaction of every write:
-- the members of each queue and capacity profile (member_count), and the
-- figures of callingSummary (tallies: agents, agents_can_make_calls,
-- phone_numbers, phone_numbers_can_make_calls, blocker:<code>). A count
-- is then one row, not a scan of 100,000.
-- +goose Up
CREATE VIRTUAL TABLE agents_search USING fts5 (
  name_key, email_key, content = 'agents', content_rowid = 'id', tokenize = 'trigram case_sensitive 1'
);

-- +goose StatementBegin
CREATE TRIGGER agents_search_insert AFTER INSERT ON agents BEGIN
  INSERT INTO agents_search (rowid, name_key, email_key) VALUES (new.id, new.name_key, new.email_key);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agents_search_delete AFTER DELETE ON agents BEGIN
  INSERT INTO agents_search (agents_search, rowid, name_key, email_key) VALUES ('delete', old.id, old.name_key, old.email_key);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER agents_search_update AFTER UPDATE OF name_key, email_key ON agents BEGIN
  INSERT INTO agents_search (agents_search, rowid, name_key, email_key) VALUES ('delete', old.id, old.name_key, old.email_key);
  INSERT INTO agents_search (rowid, name_key, email_key) VALUES (new.id, new.name_key, new.email_key);
END;
-- +goose StatementEnd

INSERT INTO agents_search (agents_search) VALUES ('rebuild');

ALTER TABLE queues ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE queues SET member_count = (SELECT COUNT(*) FROM queue_members m WHERE m.queue_id = queues.id);
ALTER TABLE capacity_profiles ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE capacity_profiles SET member_count = (SELECT COUNT(*) FROM capacity_profile_members m WHERE m.capacity_profile_id = capacity_profiles.id);

-- +goose StatementBegin
CREATE TRIGGER queue_members_count_insert AFTER INSERT ON queue_members BEGIN
  UPDATE queues SET member_count = member_count + 1 WHERE id = new.queue_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER queue_members_count_delete AFTER DELETE ON queue_members BEGIN
  UPDATE queues SET member_count = member_count - 1 WHERE id = old.queue_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER capacity_profile_members_count_insert AFTER INSERT ON capacity_profile_members BEGIN
  UPDATE capacity_profiles SET member_count = member_count + 1 WHERE id = new.capacity_profile_id;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER capacity_profile_members_count_delete AFTER DELETE ON capacity_profile_members BEGIN
  UPDATE capacity_profiles SET member_count = member_count - 1 WHERE id = old.capacity_profile_id;
END;
-- +goose StatementEnd

CREATE TABLE tallies (
  name TEXT PRIMARY KEY,
  n    INTEGER NOT NULL
);
INSERT INTO tallies (name, n) SELECT 'agents', COUNT(*) FROM agents;
INSERT INTO tallies (name, n) SELECT 'agents_can_make_calls', COUNT(*) FROM calling_abilities WHERE can_make_calls;
INSERT INTO tallies (name, n) SELECT 'phone_numbers', COUNT(*) FROM phone_numbers;
INSERT INTO tallies (name, n) SELECT 'phone_numbers_can_make_calls', COUNT(*) FROM phone_numbers WHERE make_calls;
INSERT INTO tallies (name, n) SELECT 'blocker:' || code, COUNT(*) FROM agent_blockers GROUP BY code;

-- +goose StatementBegin
CREATE TRIGGER agents_tally_insert AFTER INSERT ON agents BEGIN
  UPDATE tallies SET n = n + 1 WHERE name = 'agents';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER agents_tally_delete AFTER DELETE ON agents BEGIN
  UPDATE tallies SET n = n - 1 WHERE name = 'agents';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER calling_abilities_tally_insert AFTER INSERT ON calling_abilities WHEN new.can_make_calls BEGIN
  UPDATE tallies SET n = n + 1 WHERE name = 'agents_can_make_calls';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER calling_abilities_tally_update AFTER UPDATE OF can_make_calls ON calling_abilities
WHEN new.can_make_calls IS NOT old.can_make_calls BEGIN
  UPDATE tallies SET n = n + (CASE WHEN new.can_make_calls THEN 1 ELSE -1 END) WHERE name = 'agents_can_make_calls';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER calling_abilities_tally_delete AFTER DELETE ON calling_abilities WHEN old.can_make_calls BEGIN
  UPDATE tallies SET n = n - 1 WHERE name = 'agents_can_make_calls';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER phone_numbers_tally_insert AFTER INSERT ON phone_numbers BEGIN
  UPDATE tallies SET n = n + 1 WHERE name = 'phone_numbers';
  UPDATE tallies SET n = n + 1 WHERE name = 'phone_numbers_can_make_calls' AND new.make_calls;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER phone_numbers_tally_update AFTER UPDATE OF make_calls ON phone_numbers
WHEN new.make_calls IS NOT old.make_calls BEGIN
  UPDATE tallies SET n = n + (CASE WHEN new.make_calls THEN 1 ELSE -1 END) WHERE name = 'phone_numbers_can_make_calls';
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER phone_numbers_tally_delete AFTER DELETE ON phone_numbers BEGIN
  UPDATE tallies SET n = n - 1 WHERE name = 'phone_numbers';
  UPDATE tallies SET n = n - 1 WHERE name = 'phone_numbers_can_make_calls' AND old.make_calls;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER agent_blockers_tally_insert AFTER INSERT ON agent_blockers BEGIN
  INSERT INTO tallies (name, n) VALUES ('blocker:' || new.code, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER agent_blockers_tally_delete AFTER DELETE ON agent_blockers BEGIN
  UPDATE tallies SET n = n - 1 WHERE name = 'blocker:' || old.code;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER agent_blockers_tally_delete;
DROP TRIGGER agent_blockers_tally_insert;
DROP TRIGGER phone_numbers_tally_delete;
DROP TRIGGER phone_numbers_tally_update;
DROP TRIGGER phone_numbers_tally_insert;
DROP TRIGGER calling_abilities_tally_delete;
DROP TRIGGER calling_abilities_tally_update;
DROP TRIGGER calling_abilities_tally_insert;
DROP TRIGGER agents_tally_delete;
DROP TRIGGER agents_tally_insert;
DROP TABLE tallies;
DROP TRIGGER capacity_profile_members_count_delete;
DROP TRIGGER capacity_profile_members_count_insert;
DROP TRIGGER queue_members_count_delete;
DROP TRIGGER queue_members_count_insert;
ALTER TABLE capacity_profiles DROP COLUMN member_count;
ALTER TABLE queues DROP COLUMN member_count;
DROP TRIGGER agents_search_update;
DROP TRIGGER agents_search_delete;
DROP TRIGGER agents_search_insert;
DROP TABLE agents_search;
