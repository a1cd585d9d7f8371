// Migration 1: tasks with their status history, machine groups, machines, users. Times are
// BIGINT epoch milliseconds (as in the domain); structured values are JSONB. Keys and every
// column lists are ordered by use COLLATE "C" so that ids, names and projects sort by byte, as
// in SQLite, whatever the database's default collation.
export const up = `
CREATE TABLE tasks (
  id TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  project TEXT COLLATE "C" NOT NULL,
  simulator TEXT NOT NULL,
  simulator_version TEXT,
  commands JSONB NOT NULL,
  machine_group TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL,
  env JSONB NOT NULL,
  kill_grace_ms BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  input_uploaded_at BIGINT,
  started_at BIGINT,
  ended_at BIGINT,
  machine_id TEXT,
  machine_host TEXT,
  attempt INTEGER NOT NULL DEFAULT 1,
  exit_code INTEGER,
  signal TEXT,
  reason TEXT,
  kill_requested_at BIGINT,
  lease_expires_at BIGINT,
  queue_seq BIGINT,
  metrics JSONB NOT NULL DEFAULT '{}'
);
CREATE INDEX tasks_owner_id ON tasks (owner, id);
CREATE INDEX tasks_status_id ON tasks (status, id);
CREATE INDEX tasks_project_id ON tasks (project, id);
CREATE INDEX tasks_group_id ON tasks (machine_group, id);
CREATE INDEX tasks_queue ON tasks (machine_group, status, queue_seq);
CREATE INDEX tasks_leases ON tasks (status, lease_expires_at);

-- The place in the queue a task takes when it first enters it (SQLite keeps a counters row).
CREATE SEQUENCE task_queue_seq AS BIGINT;

CREATE TABLE task_status_history (
  task_id TEXT COLLATE "C" NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  at BIGINT NOT NULL,
  reason TEXT NOT NULL,
  detail TEXT,
  machine_id TEXT,
  PRIMARY KEY (task_id, seq)
);

CREATE TABLE machine_groups (
  name TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  provider TEXT NOT NULL,
  num_machines INTEGER NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  terminated_at BIGINT,
  options JSONB NOT NULL,
  cost_per_hour DOUBLE PRECISION
);

CREATE TABLE machines (
  id TEXT COLLATE "C" PRIMARY KEY,
  machine_group TEXT COLLATE "C" NOT NULL,
  host TEXT NOT NULL,
  pid INTEGER,
  status TEXT NOT NULL,
  registered_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  task_id TEXT,
  provider_ref TEXT,
  simulators JSONB NOT NULL,
  cpus INTEGER,
  memory_bytes BIGINT
);
CREATE INDEX machines_group ON machines (machine_group);

CREATE TABLE users (
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  machine_group TEXT,
  token_hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
`;
