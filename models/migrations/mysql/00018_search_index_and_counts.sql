-- Reads that stay fast at 100,000 agents (BENCHMARKS.md).
--
-- A text index for the agent search (agents(filter: {search})): every
-- three-byte slice (trigram) of each agent's name and email keys, kept in
-- step with agents by triggers. Keys are binary strings, so the trigrams
-- are byte slices, as calling computes those of a search. A search of
-- three bytes or more reads the agents that hold each of its trigrams by
-- the primary key (the optimizer starts from the rarest) instead of
-- scanning every key; the LIKE that decides stays the same (calling,
-- "Text filters"), so the answers do not change. MariaDB's FULLTEXT finds
-- words, not parts of words, hence a table of its own.
--
-- Maintained counts, kept by triggers in the transaction of every write:
-- the members of each queue and capacity profile (member_count), and the
-- figures of callingSummary (tallies: agents, agents_can_make_calls,
-- phone_numbers, phone_numbers_can_make_calls, blocker:<code>). A count
-- is then one row, not a scan of 100,000. (MariaDB runs no trigger for a
-- row deleted by ON DELETE CASCADE: memberships cascade only from a
-- deleted queue or capacity profile, whose count goes with it; agents
-- are never deleted.)
-- +goose Up
CREATE TABLE agent_search_grams (
  gram     VARBINARY(3) NOT NULL,
  agent_id BIGINT NOT NULL,
  PRIMARY KEY (gram, agent_id),
  KEY agent_search_grams_agent_id (agent_id),
  CONSTRAINT agent_search_grams_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB;

-- The positions 1 to 3072 (the longest key), from which the triggers take
-- a key's slices with a range on the primary key: a recursive CTE in a
-- trigger cost 2 to 5 times as much per agent, and MariaDB stops one
-- after max_recursive_iterations (1000 here), less than a key may hold.
CREATE TABLE search_positions (
  i SMALLINT NOT NULL PRIMARY KEY
) ENGINE=InnoDB;
INSERT INTO search_positions (i)
SELECT a.d * 1000 + b.d * 100 + c.d * 10 + e.d + 1
FROM (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) a,
  (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) b,
  (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) c,
  (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4
  UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9) e
WHERE a.d * 1000 + b.d * 100 + c.d * 10 + e.d < 3072;

CREATE TRIGGER agents_search_insert AFTER INSERT ON agents FOR EACH ROW
  INSERT IGNORE INTO agent_search_grams (gram, agent_id)
  SELECT SUBSTRING(NEW.name_key, p.i, 3), NEW.id FROM search_positions p WHERE p.i <= LENGTH(NEW.name_key) - 2
  UNION ALL SELECT SUBSTRING(NEW.email_key, p.i, 3), NEW.id FROM search_positions p WHERE p.i <= LENGTH(NEW.email_key) - 2;

-- +goose StatementBegin
CREATE TRIGGER agents_search_update AFTER UPDATE ON agents FOR EACH ROW
BEGIN
  IF NOT (NEW.name_key <=> OLD.name_key AND NEW.email_key <=> OLD.email_key) THEN
    DELETE FROM agent_search_grams WHERE agent_id = OLD.id;
    INSERT IGNORE INTO agent_search_grams (gram, agent_id)
    SELECT SUBSTRING(NEW.name_key, p.i, 3), NEW.id FROM search_positions p WHERE p.i <= LENGTH(NEW.name_key) - 2
    UNION ALL SELECT SUBSTRING(NEW.email_key, p.i, 3), NEW.id FROM search_positions p WHERE p.i <= LENGTH(NEW.email_key) - 2;
  END IF;
END;
-- +goose StatementEnd

INSERT IGNORE INTO agent_search_grams (gram, agent_id)
SELECT SUBSTRING(a.name_key, p.i, 3), a.id FROM agents a JOIN search_positions p ON p.i <= LENGTH(a.name_key) - 2
UNION ALL SELECT SUBSTRING(a.email_key, p.i, 3), a.id FROM agents a JOIN search_positions p ON p.i <= LENGTH(a.email_key) - 2;

ALTER TABLE queues ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE queues SET member_count = (SELECT COUNT(*) FROM queue_members m WHERE m.queue_id = queues.id);
ALTER TABLE capacity_profiles ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE capacity_profiles SET member_count = (SELECT COUNT(*) FROM capacity_profile_members m WHERE m.capacity_profile_id = capacity_profiles.id);

CREATE TRIGGER queue_members_count_insert AFTER INSERT ON queue_members FOR EACH ROW
  UPDATE queues SET member_count = member_count + 1 WHERE id = NEW.queue_id;
CREATE TRIGGER queue_members_count_delete AFTER DELETE ON queue_members FOR EACH ROW
  UPDATE queues SET member_count = member_count - 1 WHERE id = OLD.queue_id;
CREATE TRIGGER capacity_profile_members_count_insert AFTER INSERT ON capacity_profile_members FOR EACH ROW
  UPDATE capacity_profiles SET member_count = member_count + 1 WHERE id = NEW.capacity_profile_id;
CREATE TRIGGER capacity_profile_members_count_delete AFTER DELETE ON capacity_profile_members FOR EACH ROW
  UPDATE capacity_profiles SET member_count = member_count - 1 WHERE id = OLD.capacity_profile_id;

CREATE TABLE tallies (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  n    BIGINT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO tallies (name, n) SELECT 'agents', COUNT(*) FROM agents;
INSERT INTO tallies (name, n) SELECT 'agents_can_make_calls', COUNT(*) FROM calling_abilities WHERE can_make_calls;
INSERT INTO tallies (name, n) SELECT 'phone_numbers', COUNT(*) FROM phone_numbers;
INSERT INTO tallies (name, n) SELECT 'phone_numbers_can_make_calls', COUNT(*) FROM phone_numbers WHERE make_calls;
INSERT INTO tallies (name, n) SELECT CONCAT('blocker:', code), COUNT(*) FROM agent_blockers GROUP BY code;

CREATE TRIGGER agents_tally_insert AFTER INSERT ON agents FOR EACH ROW
  UPDATE tallies SET n = n + 1 WHERE name = 'agents';
CREATE TRIGGER agents_tally_delete AFTER DELETE ON agents FOR EACH ROW
  UPDATE tallies SET n = n - 1 WHERE name = 'agents';
CREATE TRIGGER calling_abilities_tally_insert AFTER INSERT ON calling_abilities FOR EACH ROW
  UPDATE tallies SET n = n + 1 WHERE name = 'agents_can_make_calls' AND NEW.can_make_calls;
CREATE TRIGGER calling_abilities_tally_update AFTER UPDATE ON calling_abilities FOR EACH ROW
  UPDATE tallies SET n = n + (CASE WHEN NEW.can_make_calls THEN 1 ELSE -1 END)
  WHERE name = 'agents_can_make_calls' AND NOT (NEW.can_make_calls <=> OLD.can_make_calls);
CREATE TRIGGER calling_abilities_tally_delete AFTER DELETE ON calling_abilities FOR EACH ROW
  UPDATE tallies SET n = n - 1 WHERE name = 'agents_can_make_calls' AND OLD.can_make_calls;
CREATE TRIGGER phone_numbers_tally_insert AFTER INSERT ON phone_numbers FOR EACH ROW
  UPDATE tallies SET n = n + 1 WHERE name = 'phone_numbers' OR (name = 'phone_numbers_can_make_calls' AND NEW.make_calls);
CREATE TRIGGER phone_numbers_tally_update AFTER UPDATE ON phone_numbers FOR EACH ROW
  UPDATE tallies SET n = n + (CASE WHEN NEW.make_calls THEN 1 ELSE -1 END)
  WHERE name = 'phone_numbers_can_make_calls' AND NOT (NEW.make_calls <=> OLD.make_calls);
CREATE TRIGGER phone_numbers_tally_delete AFTER DELETE ON phone_numbers FOR EACH ROW
  UPDATE tallies SET n = n - 1 WHERE name = 'phone_numbers' OR (name = 'phone_numbers_can_make_calls' AND OLD.make_calls);
CREATE TRIGGER agent_blockers_tally_insert AFTER INSERT ON agent_blockers FOR EACH ROW
  INSERT INTO tallies (name, n) VALUES (CONCAT('blocker:', NEW.code), 1) ON DUPLICATE KEY UPDATE n = n + 1;
CREATE TRIGGER agent_blockers_tally_delete AFTER DELETE ON agent_blockers FOR EACH ROW
  UPDATE tallies SET n = n - 1 WHERE name = CONCAT('blocker:', OLD.code);

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
DROP TRIGGER agents_search_insert;
DROP TABLE search_positions;
DROP TABLE agent_search_grams;
