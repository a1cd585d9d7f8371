// Migration 2: indexes that keep the common list pages (a user's tasks by status or project,
// newest first) and a user's project counts index range scans at a million tasks.
export const up = `
CREATE INDEX tasks_owner_status_id ON tasks (owner, status, id);
CREATE INDEX tasks_owner_project_id ON tasks (owner, project, id);
`;
