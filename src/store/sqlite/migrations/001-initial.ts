// Migration 1: tasks with their status history, machine groups, machines, users.
export const up = `
CREATE TABLE tasks (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  project TEXT NOT NULL,
  simulator TEXT NOT NULL,
  simulator_version TEXT,
  commands_json TEXT NOT NULL,
  machine_group TEXT NOT NULL,
  status TEXT NOT NULL,
  env_json TEXT NOT NULL,
  kill_grace_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  input_uploaded_at INTEGER,
  started_at INTEGER,
  ended_at INTEGER,
  machine_id TEXT,
  machine_host TEXT,
  attempt INTEGER NOT NULL DEFAULT 1,
  exit_code INTEGER,
  signal TEXT,
  reason TEXT,
  kill_requested_at INTEGER,
  lease_expires_at INTEGER,
  queue_seq INTEGER,
  metrics_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX tasks_owner_id ON tasks (owner, id);
CREATE INDEX tasks_status_id ON tasks (status, id);
CREATE INDEX tasks_project_id ON tasks (project, id);
CREATE INDEX tasks_group_id ON tasks (machine_group, id);
CREATE INDEX tasks_queue ON tasks (machine_group, status, queue_seq);
CREATE INDEX tasks_leases ON tasks (status, lease_expires_at);

CREATE TABLE task_status_history (
  task_id TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  at INTEGER NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT,
  machine_id TEXT,
  PRIMARY KEY (task_id, seq)
) WITHOUT ROWID;

CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO counters (name, value) VALUES ('queue_seq', 0);

CREATE TABLE machine_groups (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  provider TEXT NOT NULL,
  num_machines INTEGER NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  terminated_at INTEGER,
  options_json TEXT NOT NULL,
  cost_per_hour REAL
);

CREATE TABLE machines (
  id TEXT PRIMARY KEY,
  machine_group TEXT NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER,
  status TEXT NOT NULL,
  registered_at INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  task_id TEXT,
  provider_ref TEXT,
  simulators_json TEXT NOT NULL,
  cpus INTEGER,
  memory_bytes INTEGER
);
CREATE INDEX machines_group ON machines (machine_group);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  machine_group TEXT,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);
`;
