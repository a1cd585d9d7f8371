import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  ClientConfigError,
  resolveClientSettings,
  resolveOutputRoot,
} from "../../src/config/client-config.js";

let home: string;
let counter = 0;

before(async () => {
  home = await mkdtemp(join(tmpdir(), "flotilla-client-config-"));
});
after(async () => {
  await rm(home, { recursive: true, force: true });
});

/** A fresh home directory, optionally with a credentials file and an embedded admin token. */
async function makeHome(
  files: { credentials?: unknown; adminToken?: string } = {},
): Promise<string> {
  const dir = join(home, `home-${++counter}`);
  await mkdir(join(dir, ".config", "flotilla"), { recursive: true });
  if (files.credentials !== undefined) {
    const text =
      typeof files.credentials === "string" ? files.credentials : JSON.stringify(files.credentials);
    await writeFile(join(dir, ".config", "flotilla", "credentials.json"), text);
  }
  if (files.adminToken !== undefined) {
    await mkdir(join(dir, ".flotilla"), { recursive: true });
    await writeFile(join(dir, ".flotilla", "admin-token"), `${files.adminToken}\n`);
  }
  return dir;
}

describe("resolveClientSettings precedence", () => {
  it("explicit options win over the environment and the credentials file", async () => {
    const dir = await makeHome({ credentials: { url: "http://file:1", token: "file-token" } });
    const settings = resolveClientSettings(
      { url: "http://explicit:2/", token: "explicit-token" },
      { FLOTILLA_URL: "http://env:3", FLOTILLA_TOKEN: "env-token" },
      dir,
    );
    assert.deepEqual(settings, {
      kind: "remote",
      url: "http://explicit:2",
      token: "explicit-token",
      source: "the url option",
    });
  });

  it("FLOTILLA_URL with FLOTILLA_TOKEN wins over the credentials file", async () => {
    const dir = await makeHome({ credentials: { url: "http://file:1", token: "file-token" } });
    const settings = resolveClientSettings(
      {},
      { FLOTILLA_URL: "http://env:3", FLOTILLA_TOKEN: "env-token" },
      dir,
    );
    assert.deepEqual(settings, {
      kind: "remote",
      url: "http://env:3",
      token: "env-token",
      source: "FLOTILLA_URL",
    });
  });

  it("FLOTILLA_URL without a token takes the credentials file's token only when its url matches", async () => {
    const dir = await makeHome({ credentials: { url: "http://env:3/", token: "file-token" } });
    const matching = resolveClientSettings({}, { FLOTILLA_URL: "http://env:3" }, dir);
    assert.equal(matching.kind === "remote" ? matching.token : "embedded", "file-token");
    const other = resolveClientSettings({}, { FLOTILLA_URL: "http://elsewhere:3" }, dir);
    assert.equal(other.kind === "remote" ? other.token : "embedded", undefined);
  });

  it("never sends FLOTILLA_TOKEN to an explicit url other than FLOTILLA_URL", async () => {
    const dir = await makeHome();
    const settings = resolveClientSettings(
      { url: "http://explicit:2" },
      { FLOTILLA_URL: "http://env:3", FLOTILLA_TOKEN: "env-token" },
      dir,
    );
    assert.equal(settings.kind === "remote" ? settings.token : "embedded", undefined);
    const alone = resolveClientSettings(
      { url: "http://explicit:2" },
      { FLOTILLA_TOKEN: "env-token" },
      dir,
    );
    assert.equal(alone.kind === "remote" ? alone.token : "embedded", "env-token");
  });

  it("uses the credentials file when nothing else is set", async () => {
    const dir = await makeHome({
      credentials: { url: "https://cluster:7878", token: "file-token" },
    });
    const settings = resolveClientSettings({}, {}, dir);
    assert.equal(settings.kind, "remote");
    assert.equal(settings.kind === "remote" && settings.url, "https://cluster:7878");
    assert.equal(settings.token, "file-token");
    assert.match(settings.source, /credentials file .*credentials\.json/);
  });

  it("reads the credentials file from FLOTILLA_CONFIG_DIR when set", async () => {
    const dir = await makeHome();
    const configDir = join(dir, "elsewhere");
    await mkdir(configDir);
    await writeFile(
      join(configDir, "credentials.json"),
      JSON.stringify({ url: "http://custom:1", token: "t" }),
    );
    const settings = resolveClientSettings({}, { FLOTILLA_CONFIG_DIR: configDir }, dir);
    assert.equal(settings.kind === "remote" && settings.url, "http://custom:1");
  });

  it("falls back to the embedded default in ~/.flotilla when nothing is configured", async () => {
    const dir = await makeHome();
    const settings = resolveClientSettings({}, {}, dir);
    assert.deepEqual(
      { ...settings, source: undefined },
      {
        kind: "embedded",
        dataDir: join(dir, ".flotilla"),
        credentialsFile: join(dir, ".config", "flotilla", "credentials.json"),
        token: undefined,
        source: undefined,
        port: 7878,
      },
    );
  });

  it("takes the embedded server's port from FLOTILLA_PORT, and refuses one that is not a port", async () => {
    const dir = await makeHome();
    const settings = resolveClientSettings({}, { FLOTILLA_PORT: "0" }, dir);
    assert.equal(settings.kind === "embedded" ? settings.port : undefined, 0);
    assert.throws(
      () => resolveClientSettings({}, { FLOTILLA_PORT: "seventy" }, dir),
      /FLOTILLA_PORT \(from the environment\) must be a port number/,
    );
  });

  it("puts the embedded data dir in FLOTILLA_DATA_DIR when set", async () => {
    const dir = await makeHome();
    const settings = resolveClientSettings({}, { FLOTILLA_DATA_DIR: join(dir, "data") }, dir);
    assert.equal(settings.kind === "embedded" && settings.dataDir, join(dir, "data"));
  });

  it("treats credentials written by the embedded server as the embedded default, so it can be restarted", async () => {
    const dir = await makeHome({
      credentials: { url: "http://127.0.0.1:7878", token: "admin-secret" },
      adminToken: "admin-secret",
    });
    const settings = resolveClientSettings({}, {}, dir);
    assert.equal(settings.kind, "embedded");
    assert.match(settings.source, /written by it/);
  });

  it("ignores empty environment variables", async () => {
    const dir = await makeHome();
    const settings = resolveClientSettings({}, { FLOTILLA_URL: "", FLOTILLA_TOKEN: "  " }, dir);
    assert.equal(settings.kind, "embedded");
  });
});

describe("resolveClientSettings errors name the key and where it came from", () => {
  it("rejects a FLOTILLA_URL that is not an http(s) URL", async () => {
    const dir = await makeHome();
    assert.throws(
      () => resolveClientSettings({}, { FLOTILLA_URL: "localhost:7878" }, dir),
      (error: unknown) =>
        error instanceof ClientConfigError &&
        error.key === "FLOTILLA_URL" &&
        /FLOTILLA_URL \(from the environment\) must be/.test(error.message),
    );
  });

  it("rejects an explicit url that is not a URL", async () => {
    const dir = await makeHome();
    assert.throws(
      () => resolveClientSettings({ url: "not a url" }, {}, dir),
      /url \(from the url option\)/,
    );
  });

  it("names the credentials file when it is not JSON", async () => {
    const dir = await makeHome({ credentials: "{ url: nope" });
    assert.throws(
      () => resolveClientSettings({}, {}, dir),
      /credentials \(from credentials file .*credentials\.json\) is not valid JSON/,
    );
  });

  it("names the key of the credentials file that is missing or wrong", async () => {
    const missing = await makeHome({ credentials: { url: "http://a:1" } });
    assert.throws(
      () => resolveClientSettings({}, {}, missing),
      (error: unknown) =>
        error instanceof ClientConfigError &&
        error.key === "token" &&
        /is missing/.test(error.message),
    );
    const badUrl = await makeHome({ credentials: { url: "ftp://a", token: "t" } });
    assert.throws(
      () => resolveClientSettings({}, {}, badUrl),
      /url \(from credentials file .*\) must be an http/,
    );
  });

  it("does not read the credentials file when explicit options say everything", async () => {
    const dir = await makeHome({ credentials: "broken" });
    const settings = resolveClientSettings({ url: "http://a:1", token: "t" }, {}, dir);
    assert.equal(settings.kind, "remote");
  });

  it(
    "says when the credentials file cannot be read",
    { skip: process.getuid?.() === 0 ? "root reads any file" : false },
    async () => {
      const dir = await makeHome({ credentials: { url: "http://a:1", token: "t" } });
      const file = join(dir, ".config", "flotilla", "credentials.json");
      await chmod(file, 0o000);
      assert.throws(() => resolveClientSettings({}, {}, dir), /credentials file .* cannot be read/);
    },
  );
});

describe("resolveOutputRoot", () => {
  it("is ./flotilla-output by default and FLOTILLA_OUTPUT_DIR when set, resolved against cwd", () => {
    assert.equal(resolveOutputRoot({}, "/work/project"), "/work/project/flotilla-output");
    assert.equal(
      resolveOutputRoot({ FLOTILLA_OUTPUT_DIR: "out" }, "/work/project"),
      "/work/project/out",
    );
    assert.equal(
      resolveOutputRoot({ FLOTILLA_OUTPUT_DIR: "/data/out" }, "/work/project"),
      "/data/out",
    );
  });
});
