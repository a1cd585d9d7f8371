import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { eventually, isAlive } from "../helpers/real-server.js";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("./fixtures/embedded-child.js", import.meta.url));

describe("the embedded default server", () => {
  it("starts on first use with data under ~/.flotilla, writes the local token (0600), and is reused", async () => {
    const home = await mkdtemp(join(tmpdir(), "flotilla-home-"));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      FLOTILLA_PORT: "0",
      FLOTILLA_DEFAULT_MACHINES: "1",
    };
    let serverPid: number | undefined;
    try {
      const first = JSON.parse(
        (await run(process.execPath, [CHILD], { env, timeout: 60_000 })).stdout,
      ) as Record<string, string>;
      assert.equal(first.status, "success");
      assert.equal(first.machineGroup, "default");
      const info = JSON.parse(await readFile(join(home, ".flotilla", "server.json"), "utf8")) as {
        pid: number;
        url: string;
      };
      serverPid = info.pid;
      assert.ok(isAlive(info.pid), "the server outlives the script that started it");
      const credentialsPath = join(home, ".config", "flotilla", "credentials.json");
      const credentials = JSON.parse(await readFile(credentialsPath, "utf8")) as {
        url: string;
        token: string;
      };
      assert.equal(credentials.url, info.url);
      assert.match(credentials.token, /^flt_/);
      assert.equal((await stat(credentialsPath)).mode & 0o777, 0o600);

      const second = JSON.parse(
        (await run(process.execPath, [CHILD], { env, timeout: 60_000 })).stdout,
      ) as Record<string, string>;
      assert.equal(second.status, "success");
      const again = JSON.parse(await readFile(join(home, ".flotilla", "server.json"), "utf8")) as {
        pid: number;
      };
      assert.equal(again.pid, info.pid, "the second script reused the running server");
    } finally {
      if (serverPid !== undefined && isAlive(serverPid)) {
        process.kill(serverPid, "SIGTERM");
        const pid = serverPid;
        await eventually(
          () => (isAlive(pid) ? undefined : true),
          30_000,
          "the embedded server to stop",
        );
      }
      await rm(home, { recursive: true, force: true });
    }
  });
});
