-- The warning codes of each agent's stored ability, for filters and counts
-- (as agent_blockers holds its blocker codes). The server fills it at start
-- for abilities stored before warnings existed.
-- Every version of every agent's ability, with the audit entry of the
-- command that made it (no foreign key: the audit log may be pruned sooner,
-- the history stays; NULL for versions made before this table existed,
-- which it starts with).
-- +goose Up
CREATE TABLE agent_warnings (
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  code     TEXT NOT NULL,
  PRIMARY KEY (agent_id, code)
);
CREATE INDEX agent_warnings_code ON agent_warnings (code, agent_id);

CREATE TABLE calling_ability_versions (
  agent_id       INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  version        INTEGER NOT NULL,
  can_make_calls BOOLEAN NOT NULL,
  snapshot       TEXT NOT NULL,
  changed_at     DATETIME NOT NULL,
  audit_entry_id INTEGER,
  PRIMARY KEY (agent_id, version)
);
INSERT INTO calling_ability_versions (agent_id, version, can_make_calls, snapshot, changed_at, audit_entry_id)
  SELECT agent_id, version, can_make_calls, snapshot, changed_at, NULL FROM calling_abilities;

-- +goose Down
DROP TABLE calling_ability_versions;
DROP TABLE agent_warnings;
