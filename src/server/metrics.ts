// Prometheus text exposition for GET /metrics: request counts and latency by route, status
// changes by status, process memory. Counters live in this process (one server, one registry).
import type { MiddlewareHandler } from "hono";
import type { Task } from "../domain/task.js";
import type { EventHub } from "../lib/event-hub.js";
import { ALL_TASKS } from "../services/task-events.js";

export interface ServerMetrics {
  readonly middleware: MiddlewareHandler;
  /** Counts status changes published on the hub's "*" key. */
  observeTasks(hub: EventHub<Task>): void;
  render(): string;
}

export function createServerMetrics(): ServerMetrics {
  const requests = new Map<string, number>();
  const durations = new Map<string, number>();
  const transitions = new Map<string, number>();
  const bump = (map: Map<string, number>, key: string, by = 1): void => {
    map.set(key, (map.get(key) ?? 0) + by);
  };
  return {
    middleware: async (c, next) => {
      const started = performance.now();
      await next();
      const key = `method="${c.req.method}",route="${c.req.routePath}",status="${c.res.status}"`;
      bump(requests, key);
      bump(durations, key, (performance.now() - started) / 1000);
    },
    observeTasks(hub) {
      hub.subscribe(ALL_TASKS, (task) => bump(transitions, `status="${task.status}"`));
    },
    render() {
      const lines = [
        "# HELP flotilla_http_requests_total HTTP requests by route and status.",
        "# TYPE flotilla_http_requests_total counter",
        ...[...requests].map(
          ([labels, value]) => `flotilla_http_requests_total{${labels}} ${value}`,
        ),
        "# HELP flotilla_http_request_seconds_total Time spent answering, by route and status.",
        "# TYPE flotilla_http_request_seconds_total counter",
        ...[...durations].map(
          ([labels, value]) => `flotilla_http_request_seconds_total{${labels}} ${value.toFixed(6)}`,
        ),
        "# HELP flotilla_task_status_changes_total Task status changes seen by this server.",
        "# TYPE flotilla_task_status_changes_total counter",
        ...[...transitions].map(
          ([labels, value]) => `flotilla_task_status_changes_total{${labels}} ${value}`,
        ),
        "# HELP flotilla_process_resident_memory_bytes Resident memory of the server process.",
        "# TYPE flotilla_process_resident_memory_bytes gauge",
        `flotilla_process_resident_memory_bytes ${process.memoryUsage().rss}`,
      ];
      return `${lines.join("\n")}\n`;
    },
  };
}
