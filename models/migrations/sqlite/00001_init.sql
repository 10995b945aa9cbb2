-- +goose Up
CREATE TABLE phone_numbers (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  e164          TEXT NOT NULL UNIQUE,
  country_code  TEXT NOT NULL,
  type          TEXT NOT NULL,
  label         TEXT,
  receive_calls BOOLEAN NOT NULL,
  make_calls    BOOLEAN NOT NULL,
  created_at    DATETIME NOT NULL,
  updated_at    DATETIME NOT NULL
);
CREATE INDEX phone_numbers_make_calls ON phone_numbers (make_calls);

CREATE TABLE queues (
  id                   INTEGER PRIMARY KEY AUTOINCREMENT,
  name                 TEXT NOT NULL,
  name_key             TEXT NOT NULL UNIQUE,
  channel              TEXT NOT NULL,
  description          TEXT,
  overflow_transfer_to TEXT,
  overflow_caller_id   INTEGER REFERENCES phone_numbers (id),
  created_at           DATETIME NOT NULL,
  updated_at           DATETIME NOT NULL
);
CREATE INDEX queues_overflow_caller_id ON queues (overflow_caller_id);

CREATE TABLE capacity_profiles (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  name             TEXT NOT NULL,
  name_key         TEXT NOT NULL UNIQUE,
  work_item_limit  INTEGER NOT NULL,
  reset_frequency  TEXT NOT NULL,
  block_assignment BOOLEAN NOT NULL,
  created_at       DATETIME NOT NULL,
  updated_at       DATETIME NOT NULL
);

-- default_marker is 1 on the default profile and NULL elsewhere: the unique
-- index allows at most one default.
CREATE TABLE outbound_profiles (
  id                  INTEGER PRIMARY KEY AUTOINCREMENT,
  name                TEXT NOT NULL,
  name_key            TEXT NOT NULL UNIQUE,
  queue_id            INTEGER NOT NULL REFERENCES queues (id),
  capacity_profile_id INTEGER NOT NULL REFERENCES capacity_profiles (id),
  default_marker      INTEGER UNIQUE,
  caller_id_name      TEXT,
  created_at          DATETIME NOT NULL,
  updated_at          DATETIME NOT NULL
);
CREATE INDEX outbound_profiles_queue_id ON outbound_profiles (queue_id);
CREATE INDEX outbound_profiles_capacity_profile_id ON outbound_profiles (capacity_profile_id);

CREATE TABLE outbound_profile_numbers (
  outbound_profile_id INTEGER NOT NULL REFERENCES outbound_profiles (id) ON DELETE CASCADE,
  phone_number_id     INTEGER NOT NULL REFERENCES phone_numbers (id),
  PRIMARY KEY (outbound_profile_id, phone_number_id)
);
CREATE INDEX outbound_profile_numbers_phone_number_id ON outbound_profile_numbers (phone_number_id);

CREATE TABLE agents (
  id                      INTEGER PRIMARY KEY AUTOINCREMENT,
  name                    TEXT NOT NULL,
  email                   TEXT NOT NULL UNIQUE,
  unified_routing_enabled BOOLEAN NOT NULL,
  personal_number_id      INTEGER UNIQUE REFERENCES phone_numbers (id),
  created_at              DATETIME NOT NULL,
  updated_at              DATETIME NOT NULL
);

CREATE TABLE queue_members (
  queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  PRIMARY KEY (queue_id, agent_id)
);
CREATE INDEX queue_members_agent_id ON queue_members (agent_id, queue_id);

CREATE TABLE capacity_profile_members (
  capacity_profile_id INTEGER NOT NULL REFERENCES capacity_profiles (id) ON DELETE CASCADE,
  agent_id            INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  PRIMARY KEY (capacity_profile_id, agent_id)
);
CREATE INDEX capacity_profile_members_agent_id ON capacity_profile_members (agent_id, capacity_profile_id);

-- The materialized calling ability of each agent (docs/domain.md).
CREATE TABLE calling_abilities (
  agent_id       INTEGER PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
  version        INTEGER NOT NULL,
  can_make_calls BOOLEAN NOT NULL,
  snapshot       TEXT NOT NULL,
  changed_at     DATETIME NOT NULL
);
CREATE INDEX calling_abilities_can_make_calls ON calling_abilities (can_make_calls);

-- The blocker codes of each agent's stored ability, for filters and counts.
CREATE TABLE agent_blockers (
  agent_id INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  code     TEXT NOT NULL,
  PRIMARY KEY (agent_id, code)
);
CREATE INDEX agent_blockers_code ON agent_blockers (code, agent_id);

-- One row; every configuration mutation updates it first, which serialises
-- them (MySQL row lock; SQLite takes its write lock at BEGIN anyway).
CREATE TABLE config_revisions (
  id       INTEGER PRIMARY KEY,
  revision INTEGER NOT NULL
);
INSERT INTO config_revisions (id, revision) VALUES (1, 0);

CREATE TABLE api_tokens (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  name         TEXT NOT NULL UNIQUE,
  role         TEXT NOT NULL,
  agent_id     INTEGER REFERENCES agents (id),
  token_hash   TEXT NOT NULL UNIQUE,
  revoked_at   DATETIME,
  last_used_at DATETIME,
  created_at   DATETIME NOT NULL
);

CREATE TABLE audit_entries (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        DATETIME NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  target_id TEXT,
  details   TEXT NOT NULL
);
CREATE INDEX audit_entries_target_id ON audit_entries (target_id, id);
CREATE INDEX audit_entries_action ON audit_entries (action, id);

CREATE TABLE webhook_endpoints (
  id                         INTEGER PRIMARY KEY AUTOINCREMENT,
  url                        TEXT NOT NULL,
  description                TEXT,
  event_types                TEXT NOT NULL,
  enabled                    BOOLEAN NOT NULL,
  disabled_reason            TEXT,
  secret                     TEXT NOT NULL,
  previous_secret            TEXT,
  previous_secret_expires_at DATETIME,
  failing_since              DATETIME,
  deleted_at                 DATETIME,
  created_at                 DATETIME NOT NULL,
  updated_at                 DATETIME NOT NULL
);

CREATE TABLE webhook_endpoint_agents (
  endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  agent_id    INTEGER NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
  PRIMARY KEY (endpoint_id, agent_id)
);
CREATE INDEX webhook_endpoint_agents_agent_id ON webhook_endpoint_agents (agent_id);

CREATE TABLE webhook_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id  TEXT NOT NULL UNIQUE,
  type        TEXT NOT NULL,
  agent_id    INTEGER,
  version     INTEGER,
  payload     TEXT NOT NULL,
  occurred_at DATETIME NOT NULL
);
CREATE INDEX webhook_events_type ON webhook_events (type, id);
CREATE INDEX webhook_events_agent_id ON webhook_events (agent_id, id);

CREATE TABLE webhook_deliveries (
  id               INTEGER PRIMARY KEY AUTOINCREMENT,
  endpoint_id      INTEGER NOT NULL REFERENCES webhook_endpoints (id),
  event_id         INTEGER NOT NULL REFERENCES webhook_events (id),
  agent_id         INTEGER,
  version          INTEGER,
  status           TEXT NOT NULL,
  attempt_count    INTEGER NOT NULL,
  next_attempt_at  DATETIME,
  lease_owner      TEXT,
  lease_expires_at DATETIME,
  created_at       DATETIME NOT NULL,
  updated_at       DATETIME NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status, id);
CREATE INDEX webhook_deliveries_agent ON webhook_deliveries (endpoint_id, agent_id, version);
CREATE INDEX webhook_deliveries_event_id ON webhook_deliveries (event_id);

CREATE TABLE webhook_attempts (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  delivery_id   INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at  DATETIME NOT NULL,
  status_code   INTEGER,
  duration_ms   INTEGER NOT NULL,
  error         TEXT,
  response_body TEXT
);
CREATE INDEX webhook_attempts_delivery_id ON webhook_attempts (delivery_id, id);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoint_agents;
DROP TABLE webhook_endpoints;
DROP TABLE audit_entries;
DROP TABLE api_tokens;
DROP TABLE config_revisions;
DROP TABLE agent_blockers;
DROP TABLE calling_abilities;
DROP TABLE capacity_profile_members;
DROP TABLE queue_members;
DROP TABLE agents;
DROP TABLE outbound_profile_numbers;
DROP TABLE outbound_profiles;
DROP TABLE capacity_profiles;
DROP TABLE queues;
DROP TABLE phone_numbers;
