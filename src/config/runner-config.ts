/**
 * Runner configuration: one zod schema and a pure loader from command-line options and the
 * environment. Errors name the key and where its value came from.
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";

/** Settings of one runner process (`flotilla runner start`). */
export const RunnerConfig = z.object({
  /** Base URL of the server, e.g. `http://127.0.0.1:7878`. */
  serverUrl: z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }),
  /** Runner token (scoped to one machine group). */
  token: z.string().min(1, "must not be empty").optional(),
  /** Machine group whose tasks this runner claims. */
  machineGroup: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "use 1 to 63 letters, digits, '.', '_' or '-'"),
  /** Pre-assigned machine id (the local provider passes one); the server picks one otherwise. */
  machineId: z.string().min(1).max(64).optional(),
  /** Where task working directories go: `<workDir>/tasks/<taskId>-<attempt>/work`. */
  workDir: z.string().min(1),
  /** Provider handle reported at register: the Slurm job id of a pilot. */
  providerRef: z.string().min(1).max(100).optional(),
  /**
   * CPUs this machine offers a task (`{cpus}` in recipes, FLOTILLA_CPUS): the host's share when
   * several runners share it, or the Slurm allocation; all the host's cores when unset.
   */
  cpus: z.coerce.number().int("must be a whole number").min(1, "must be at least 1").optional(),
  /**
   * The server process that started this runner (the local provider sets FLOTILLA_PARENT_PID):
   * when it is gone, the runner takes no new task, finishes the one it runs, and exits. A
   * restarted server starts machines of its own.
   */
  parentPid: z.coerce.number().int().min(1).optional(),
});
/** Settings of one runner process. */
export type RunnerConfig = z.infer<typeof RunnerConfig>;

/** Options as given on the command line (all optional strings). */
export interface RunnerOptions {
  server?: string | undefined;
  token?: string | undefined;
  machineGroup?: string | undefined;
  machineId?: string | undefined;
  workDir?: string | undefined;
  providerRef?: string | undefined;
  cpus?: string | undefined;
}

type Key = keyof RunnerConfig;

/** The first defined value among (source, value) pairs, with the source it came from. */
function pick(
  ...candidates: [source: string, value: string | undefined][]
): [string, string | undefined] {
  for (const [source, value] of candidates) {
    if (value !== undefined && value !== "") return [source, value];
  }
  return ["", undefined];
}

/**
 * Builds the runner config from options (first) and env (second), with defaults.
 *
 * @example
 * const config = loadRunnerConfig({ machineGroup: "default" }, process.env);
 */
export function loadRunnerConfig(
  options: RunnerOptions,
  env: Record<string, string | undefined>,
): RunnerConfig {
  const picked: Record<Key, [string, string | undefined]> = {
    serverUrl: pick(["--server", options.server], ["FLOTILLA_URL", env.FLOTILLA_URL]),
    token: pick(["--token", options.token], ["FLOTILLA_TOKEN", env.FLOTILLA_TOKEN]),
    machineGroup: pick(["--machine-group", options.machineGroup]),
    machineId: pick(["--machine-id", options.machineId]),
    workDir: pick(["--work-dir", options.workDir]),
    providerRef: pick(["--provider-ref", options.providerRef], ["SLURM_JOB_ID", env.SLURM_JOB_ID]),
    parentPid: pick(["FLOTILLA_PARENT_PID", env.FLOTILLA_PARENT_PID]),
    // A Slurm pilot offers what its job was given (--cpus-per-task), not the node's cores.
    cpus: pick(
      ["--cpus", options.cpus],
      ["FLOTILLA_RUNNER_CPUS", env.FLOTILLA_RUNNER_CPUS],
      ["SLURM_CPUS_PER_TASK", env.SLURM_CPUS_PER_TASK],
      ["SLURM_CPUS_ON_NODE", env.SLURM_CPUS_ON_NODE],
    ),
  };
  const machineId = picked.machineId[1];
  if (picked.workDir[1] === undefined) {
    // One directory per machine so that several runners on one host never share working dirs.
    const suffix = machineId ?? String(process.pid);
    picked.workDir = ["the default", join(tmpdir(), `flotilla-runner-${suffix}`)];
  }
  requireKey(picked, "serverUrl", "pass --server <url> or set FLOTILLA_URL");
  requireKey(picked, "machineGroup", "pass --machine-group <name>");
  const raw = Object.fromEntries(Object.entries(picked).map(([key, [, value]]) => [key, value]));
  const parsed = RunnerConfig.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? "?") as Key;
    const [source, value] = picked[key] ?? ["?", undefined];
    throw new Error(
      `runner setting ${key} from ${source} is invalid (got "${value ?? ""}"): ${issue?.message ?? "?"}`,
    );
  }
  return parsed.data;
}

function requireKey(
  picked: Record<Key, [string, string | undefined]>,
  key: Key,
  fix: string,
): void {
  if (picked[key][1] === undefined) throw new Error(`runner setting ${key} is missing: ${fix}`);
}
