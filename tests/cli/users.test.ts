import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startRealServer, type RealServer } from "../helpers/real-server.js";
import { cliEnv, runCli } from "./cli-harness.js";

describe("flotilla users", () => {
  let server: RealServer;
  let work: string;
  before(async () => {
    server = await startRealServer();
    work = await mkdtemp(join(tmpdir(), "flotilla-cli-users-"));
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  it("an admin creates a user whose token works, lists users, and revokes it (then it is exit 4)", async () => {
    const admin = cliEnv(server, work);
    const created = await runCli(["users", "create", "alice"], admin);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^flt_[0-9a-f]+$/);
    const alice = cliEnv({ url: server.url, token }, work);
    const listed = await runCli(["tasks", "list", "--json"], alice);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(JSON.parse(listed.stdout), []);
    const forbidden = await runCli(["users", "list"], alice);
    assert.equal(forbidden.code, 4, "not allowed is an auth exit");
    assert.match(forbidden.stderr, /only an admin may manage users/);
    const users = JSON.parse((await runCli(["users", "list", "--json"], admin)).stdout) as {
      id: string;
      name: string;
    }[];
    const id = users.find((user) => user.name === "alice")?.id;
    assert.ok(id);
    assert.equal((await runCli(["users", "revoke", id], admin)).code, 0);
    const revoked = await runCli(["tasks", "list"], alice);
    assert.equal(revoked.code, 4);
    assert.match(revoked.stderr, /not valid or was revoked/);
  });
});
