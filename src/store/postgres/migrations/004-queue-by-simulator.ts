// Migration 4: the queue of each group by simulator, so that a machine finds the first queued
// task it can run (a group whose machines have different simulators) in one index lookup per
// simulator it has. Partial: only queued tasks are in it, so only queueing and claiming touch it.
export const up = `
CREATE INDEX tasks_queue_by_simulator ON tasks (machine_group, simulator, queue_seq)
  WHERE status = 'in-queue';
`;
