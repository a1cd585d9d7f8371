// `flotilla runner start`: one machine, in the foreground, until SIGINT/SIGTERM or its group ends.
import type { Command } from "commander";
import { loadRunnerConfig, type RunnerOptions } from "../../../config/runner-config.js";

export function registerRunnerStart(runner: Command): void {
  runner
    .command("start")
    .description("run a machine that claims and runs tasks of one machine group")
    .option("--server <url>", "server URL (env FLOTILLA_URL)")
    .option(
      "--token <token>",
      "runner token of the group (env FLOTILLA_TOKEN; prefer the env: argv is visible to ps)",
    )
    .option("--machine-group <name>", "machine group whose tasks to run")
    .option("--machine-id <id>", "id pre-assigned by a provider")
    .option("--work-dir <dir>", "where task working directories go")
    .option("--provider-ref <ref>", "provider handle, e.g. the Slurm job id (env SLURM_JOB_ID)")
    .option(
      "--cpus <n>",
      "CPUs a task may use ({cpus}, FLOTILLA_CPUS); default the Slurm allocation, else every core (env FLOTILLA_RUNNER_CPUS)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  FLOTILLA_TOKEN=flr_... flotilla runner start --server http://head:7878 --machine-group big\n",
    )
    .action(async (options: RunnerOptions) => {
      const config = loadRunnerConfig(options, process.env);
      // Loaded here: the other commands start faster without the runner code.
      const { startRunner } = await import("../../../runner/start-runner.js");
      const handle = await startRunner(config);
      // Stopped by a signal: exit 128 + its number, as a shell would report it, so that whoever
      // started the runner can tell it from the end of its group (0) and replace it if unasked.
      let signalCode = 0;
      const stopOn = (code: number) => (): void => {
        signalCode = code;
        void handle.stop();
      };
      process.on("SIGINT", stopOn(130));
      process.on("SIGTERM", stopOn(143));
      await handle.done;
      process.exit(signalCode);
    });
}
