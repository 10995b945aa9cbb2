-- +goose Up
CREATE TABLE phone_numbers (
  id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  e164          VARCHAR(20) NOT NULL,
  country_code  VARCHAR(3) NOT NULL,
  type          VARCHAR(20) NOT NULL,
  label         VARCHAR(200),
  receive_calls BOOLEAN NOT NULL,
  make_calls    BOOLEAN NOT NULL,
  created_at    DATETIME(6) NOT NULL,
  updated_at    DATETIME(6) NOT NULL,
  UNIQUE KEY phone_numbers_e164 (e164),
  KEY phone_numbers_make_calls (make_calls)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE queues (
  id                   BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name                 VARCHAR(200) NOT NULL,
  name_key             VARCHAR(200) NOT NULL,
  channel              VARCHAR(20) NOT NULL,
  description          TEXT,
  overflow_transfer_to VARCHAR(20),
  overflow_caller_id   BIGINT,
  created_at           DATETIME(6) NOT NULL,
  updated_at           DATETIME(6) NOT NULL,
  UNIQUE KEY queues_name_key (name_key),
  KEY queues_overflow_caller_id (overflow_caller_id),
  CONSTRAINT queues_overflow_caller_fk FOREIGN KEY (overflow_caller_id) REFERENCES phone_numbers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE capacity_profiles (
  id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name             VARCHAR(200) NOT NULL,
  name_key         VARCHAR(200) NOT NULL,
  work_item_limit  INT NOT NULL,
  reset_frequency  VARCHAR(20) NOT NULL,
  block_assignment BOOLEAN NOT NULL,
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  UNIQUE KEY capacity_profiles_name_key (name_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- default_marker is 1 on the default profile and NULL elsewhere: the unique
-- key allows at most one default.
CREATE TABLE outbound_profiles (
  id                  BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name                VARCHAR(200) NOT NULL,
  name_key            VARCHAR(200) NOT NULL,
  queue_id            BIGINT NOT NULL,
  capacity_profile_id BIGINT NOT NULL,
  default_marker      TINYINT,
  caller_id_name      VARCHAR(15),
  created_at          DATETIME(6) NOT NULL,
  updated_at          DATETIME(6) NOT NULL,
  UNIQUE KEY outbound_profiles_name_key (name_key),
  UNIQUE KEY outbound_profiles_default_marker (default_marker),
  KEY outbound_profiles_queue_id (queue_id),
  KEY outbound_profiles_capacity_profile_id (capacity_profile_id),
  CONSTRAINT outbound_profiles_queue_fk FOREIGN KEY (queue_id) REFERENCES queues (id),
  CONSTRAINT outbound_profiles_capacity_profile_fk FOREIGN KEY (capacity_profile_id) REFERENCES capacity_profiles (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE outbound_profile_numbers (
  outbound_profile_id BIGINT NOT NULL,
  phone_number_id     BIGINT NOT NULL,
  PRIMARY KEY (outbound_profile_id, phone_number_id),
  KEY outbound_profile_numbers_phone_number_id (phone_number_id),
  CONSTRAINT outbound_profile_numbers_profile_fk FOREIGN KEY (outbound_profile_id) REFERENCES outbound_profiles (id) ON DELETE CASCADE,
  CONSTRAINT outbound_profile_numbers_number_fk FOREIGN KEY (phone_number_id) REFERENCES phone_numbers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE agents (
  id                      BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name                    VARCHAR(200) NOT NULL,
  email                   VARCHAR(254) NOT NULL,
  unified_routing_enabled BOOLEAN NOT NULL,
  personal_number_id      BIGINT,
  created_at              DATETIME(6) NOT NULL,
  updated_at              DATETIME(6) NOT NULL,
  UNIQUE KEY agents_email (email),
  UNIQUE KEY agents_personal_number_id (personal_number_id),
  CONSTRAINT agents_personal_number_fk FOREIGN KEY (personal_number_id) REFERENCES phone_numbers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE queue_members (
  queue_id BIGINT NOT NULL,
  agent_id BIGINT NOT NULL,
  PRIMARY KEY (queue_id, agent_id),
  KEY queue_members_agent_id (agent_id, queue_id),
  CONSTRAINT queue_members_queue_fk FOREIGN KEY (queue_id) REFERENCES queues (id) ON DELETE CASCADE,
  CONSTRAINT queue_members_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE capacity_profile_members (
  capacity_profile_id BIGINT NOT NULL,
  agent_id            BIGINT NOT NULL,
  PRIMARY KEY (capacity_profile_id, agent_id),
  KEY capacity_profile_members_agent_id (agent_id, capacity_profile_id),
  CONSTRAINT capacity_profile_members_profile_fk FOREIGN KEY (capacity_profile_id) REFERENCES capacity_profiles (id) ON DELETE CASCADE,
  CONSTRAINT capacity_profile_members_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The materialized calling ability of each agent (docs/domain.md).
CREATE TABLE calling_abilities (
  agent_id       BIGINT NOT NULL PRIMARY KEY,
  version        BIGINT NOT NULL,
  can_make_calls BOOLEAN NOT NULL,
  snapshot       MEDIUMTEXT NOT NULL,
  changed_at     DATETIME(6) NOT NULL,
  KEY calling_abilities_can_make_calls (can_make_calls),
  CONSTRAINT calling_abilities_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- The blocker codes of each agent's stored ability, for filters and counts.
CREATE TABLE agent_blockers (
  agent_id BIGINT NOT NULL,
  code     VARCHAR(40) NOT NULL,
  PRIMARY KEY (agent_id, code),
  KEY agent_blockers_code (code, agent_id),
  CONSTRAINT agent_blockers_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row; every configuration mutation updates it first, which serialises
-- them (MySQL row lock; SQLite takes its write lock at BEGIN anyway).
CREATE TABLE config_revisions (
  id       INT NOT NULL PRIMARY KEY,
  revision BIGINT NOT NULL
) ENGINE=InnoDB;
INSERT INTO config_revisions (id, revision) VALUES (1, 0);

CREATE TABLE api_tokens (
  id           BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name         VARCHAR(200) NOT NULL,
  role         VARCHAR(10) NOT NULL,
  agent_id     BIGINT,
  token_hash   CHAR(64) NOT NULL,
  revoked_at   DATETIME(6),
  last_used_at DATETIME(6),
  created_at   DATETIME(6) NOT NULL,
  UNIQUE KEY api_tokens_name (name),
  UNIQUE KEY api_tokens_token_hash (token_hash),
  CONSTRAINT api_tokens_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_entries (
  id        BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  at        DATETIME(6) NOT NULL,
  actor     VARCHAR(200) NOT NULL,
  action    VARCHAR(64) NOT NULL,
  target_id VARCHAR(128),
  details   MEDIUMTEXT NOT NULL,
  KEY audit_entries_target_id (target_id, id),
  KEY audit_entries_action (action, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhook_endpoints (
  id                         BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  url                        VARCHAR(2048) NOT NULL,
  description                TEXT,
  event_types                VARCHAR(255) NOT NULL,
  enabled                    BOOLEAN NOT NULL,
  disabled_reason            TEXT,
  secret                     VARCHAR(128) NOT NULL,
  previous_secret            VARCHAR(128),
  previous_secret_expires_at DATETIME(6),
  failing_since              DATETIME(6),
  deleted_at                 DATETIME(6),
  created_at                 DATETIME(6) NOT NULL,
  updated_at                 DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhook_endpoint_agents (
  endpoint_id BIGINT NOT NULL,
  agent_id    BIGINT NOT NULL,
  PRIMARY KEY (endpoint_id, agent_id),
  KEY webhook_endpoint_agents_agent_id (agent_id),
  CONSTRAINT webhook_endpoint_agents_endpoint_fk FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  CONSTRAINT webhook_endpoint_agents_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhook_events (
  id          BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  message_id  VARCHAR(64) NOT NULL,
  type        VARCHAR(64) NOT NULL,
  agent_id    BIGINT,
  version     BIGINT,
  payload     MEDIUMTEXT NOT NULL,
  occurred_at DATETIME(6) NOT NULL,
  UNIQUE KEY webhook_events_message_id (message_id),
  KEY webhook_events_type (type, id),
  KEY webhook_events_agent_id (agent_id, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhook_deliveries (
  id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  endpoint_id      BIGINT NOT NULL,
  event_id         BIGINT NOT NULL,
  agent_id         BIGINT,
  version          BIGINT,
  status           VARCHAR(20) NOT NULL,
  attempt_count    INT NOT NULL,
  next_attempt_at  DATETIME(6),
  lease_owner      VARCHAR(64),
  lease_expires_at DATETIME(6),
  created_at       DATETIME(6) NOT NULL,
  updated_at       DATETIME(6) NOT NULL,
  KEY webhook_deliveries_due (status, next_attempt_at),
  KEY webhook_deliveries_endpoint (endpoint_id, status, id),
  KEY webhook_deliveries_agent (endpoint_id, agent_id, version),
  KEY webhook_deliveries_event_id (event_id),
  CONSTRAINT webhook_deliveries_endpoint_fk FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id),
  CONSTRAINT webhook_deliveries_event_fk FOREIGN KEY (event_id) REFERENCES webhook_events (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE webhook_attempts (
  id            BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  delivery_id   BIGINT NOT NULL,
  attempted_at  DATETIME(6) NOT NULL,
  status_code   INT,
  duration_ms   INT NOT NULL,
  error         TEXT,
  response_body TEXT,
  KEY webhook_attempts_delivery_id (delivery_id, id),
  CONSTRAINT webhook_attempts_delivery_fk FOREIGN KEY (delivery_id) REFERENCES webhook_deliveries (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

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
