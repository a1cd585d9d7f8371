// `flotilla server start`: runs a server in the foreground until SIGINT/SIGTERM.
import type { Command } from "commander";
import { loadServerConfig } from "../../../config/server-config.js";

export function registerServerStart(server: Command): void {
  server
    .command("start")
    .description("run a flotilla server in the foreground (data in ~/.flotilla unless --data-dir)")
    .option(
      "--data-dir <dir>",
      "where the store, inputs, outputs and logs live (env FLOTILLA_DATA_DIR)",
    )
    .option(
      "--database <url>",
      "PostgreSQL URL (postgres://…) for the store; SQLite in the data dir when unset (env FLOTILLA_DATABASE_URL)",
    )
    .option(
      "--blob-dir <dir>",
      "inputs, outputs and logs (default: the data dir); servers sharing a database share it (env FLOTILLA_BLOB_DIR)",
    )
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .option("--port <port>", "port to listen on; 0 picks a free one (default 7878)")
    .option("--allow-remote", "allow listening beyond 127.0.0.1 (put it behind TLS)")
    .option(
      "--write-credentials <file>",
      "write { url, token } for the local user to this file (mode 0600)",
    )
    .addHelpText(
      "after",
      "\nExamples:\n  flotilla server start\n  flotilla server start --data-dir /srv/flotilla --port 8080\n  flotilla server start --database postgres://flotilla@db:5432/flotilla --blob-dir /shared/flotilla\n",
    )
    .action(
      async (options: {
        dataDir?: string;
        host?: string;
        port?: string;
        allowRemote?: boolean;
        writeCredentials?: string;
        database?: string;
        blobDir?: string;
      }) => {
        const config = loadServerConfig(options, process.env);
        if (config.allowRemote) {
          process.stderr.write(
            `warning: listening on ${config.host} without TLS; anyone who can reach it sees tokens in transit\n`,
          );
        }
        // Loaded here, not at the top: every other command starts faster without the server code.
        const { startServer } = await import("../../../server/main.js");
        const running = await startServer(config);
        process.stdout.write(
          `flotilla server listening on ${running.url} (data in ${config.dataDir})\n`,
        );
        let stopping = false;
        const stop = (): void => {
          if (stopping) return;
          stopping = true;
          process.stdout.write("flotilla server stopping: machines first, then connections\n");
          running.close().then(
            () => process.exit(0),
            (error: unknown) => {
              process.stderr.write(`flotilla server: error while stopping: ${String(error)}\n`);
              process.exit(1);
            },
          );
        };
        process.on("SIGINT", stop);
        process.on("SIGTERM", stop);
      },
    );
}
