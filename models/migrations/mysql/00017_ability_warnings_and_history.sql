-- The warning codes of each agent's stored ability, for filters and counts
-- (as agent_blockers holds its blocker codes). The server fills it at start
-- for abilities stored before warnings existed.
-- Every version of every agent's ability, with the audit entry of the
-- command that made it (no foreign key: the audit log may be pruned sooner,
-- the history stays; NULL for versions made before this table existed,
-- which it starts with).
-- +goose Up
CREATE TABLE agent_warnings (
  agent_id BIGINT NOT NULL,
  code     VARCHAR(40) NOT NULL,
  PRIMARY KEY (agent_id, code),
  KEY agent_warnings_code (code, agent_id),
  CONSTRAINT agent_warnings_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE calling_ability_versions (
  agent_id       BIGINT NOT NULL,
  version        BIGINT NOT NULL,
  can_make_calls BOOLEAN NOT NULL,
  snapshot       MEDIUMTEXT NOT NULL,
  changed_at     DATETIME(6) NOT NULL,
  audit_entry_id BIGINT NULL,
  PRIMARY KEY (agent_id, version),
  CONSTRAINT calling_ability_versions_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO calling_ability_versions (agent_id, version, can_make_calls, snapshot, changed_at, audit_entry_id)
  SELECT agent_id, version, can_make_calls, snapshot, changed_at, NULL FROM calling_abilities;

-- +goose Down
DROP TABLE calling_ability_versions;
DROP TABLE agent_warnings;
