// Migration 2: indexes that keep the common list pages (a user's tasks by status or project,
// newest first) and a user's project counts index range scans at a million tasks. A project
// belongs to one owner; without telling the planner so, it multiplies the two selectivities,
// expects a handful of rows for "owner and project", and sorts thousands instead of walking
// (owner, project, id) in order.
export const up = `
CREATE INDEX tasks_owner_status_id ON tasks (owner, status, id);
CREATE INDEX tasks_owner_project_id ON tasks (owner, project, id);
CREATE STATISTICS tasks_owner_project (dependencies, ndistinct) ON owner, project FROM tasks;
`;
