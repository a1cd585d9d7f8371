// Migration 3: the control relay between servers sharing the database. A live introspection
// request (list-files, tail, top) reaches the server whose runner runs the task through a row
// here and a NOTIFY; the reply comes back the same way. Rows live for seconds.
export const up = `
CREATE TABLE control_relay (
  request_id TEXT PRIMARY KEY,
  machine_id TEXT NOT NULL,
  message JSONB NOT NULL,
  reply JSONB,
  created_at BIGINT NOT NULL
);
`;
