// `flotilla users create|list|revoke`: admin-only user management.
import type { Command } from "commander";
import { users } from "../../sdk/index.js";
import { withExamples } from "../command-helpers.js";
import type { CliIo } from "../io.js";
import { printJson } from "../output/json.js";
import { renderTable } from "../output/table.js";

export function registerUsers(program: Command, io: CliIo): void {
  const noun = withExamples(
    program.command("users").description("manage users and their tokens (admin only)"),
    ["flotilla users create alice", "flotilla users list", "flotilla users revoke u-0mwv..."],
  );
  const create = noun
    .command("create <name>")
    .description("create a user and print its token (shown only this once)")
    .option("--json", "print the user and token as JSON")
    .action(async (name: string, options: { json?: boolean }) => {
      const created = await users.create(name, { client: await io.connect() });
      if (options.json === true) return printJson(io, created);
      io.out(`${created.token}\n`);
      io.err(
        `user ${created.user.name} (${created.user.id}) created; give them the token above as FLOTILLA_TOKEN\n`,
      );
    });
  withExamples(create, ["flotilla users create alice", "flotilla users create alice --json"]);
  const list = noun
    .command("list")
    .alias("ls")
    .description("list users")
    .option("--json", "print the users as JSON")
    .action(async (options: { json?: boolean }) => {
      const all = await users.list({ client: await io.connect() });
      if (options.json === true) return printJson(io, all);
      io.out(
        renderTable(
          all,
          [
            { header: "id", cell: (u) => u.id },
            { header: "name", cell: (u) => u.name },
            { header: "role", cell: (u) => u.role },
            { header: "created", cell: (u) => u.createdAt },
            { header: "revoked", cell: (u) => u.revokedAt ?? "" },
          ],
          { tty: io.isTty, style: io.style },
        ),
      );
    });
  withExamples(list, ["flotilla users list", "flotilla users list --json"]);
  const revoke = noun
    .command("revoke <id>")
    .description("revoke a user's token at once")
    .action(async (id: string) => {
      await users.revoke(id, { client: await io.connect() });
      io.err(`user ${id} revoked; their token no longer works\n`);
    });
  withExamples(revoke, ["flotilla users revoke u-0mwv..."]);
}
