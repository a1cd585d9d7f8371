import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadServerConfig } from "../../src/config/server-config.js";

describe("server configuration", () => {
  it("defaults to SQLite with blobs in the data dir", () => {
    const config = loadServerConfig({ dataDir: "/srv/f" }, {});
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.blobDir, "/srv/f");
    assert.equal(config.host, "127.0.0.1");
    assert.equal(config.port, 7878);
  });

  it("takes PostgreSQL from --database before FLOTILLA_DATABASE_URL, and a shared blob dir", () => {
    const env = { FLOTILLA_DATABASE_URL: "postgres://env@db/f", FLOTILLA_BLOB_DIR: "/shared" };
    assert.equal(loadServerConfig({ dataDir: "/d" }, env).databaseUrl, "postgres://env@db/f");
    assert.equal(loadServerConfig({ dataDir: "/d" }, env).blobDir, "/shared");
    const flags = { dataDir: "/d", database: "postgresql://flag@db/f", blobDir: "/b" };
    assert.equal(loadServerConfig(flags, env).databaseUrl, "postgresql://flag@db/f");
    assert.equal(loadServerConfig(flags, env).blobDir, "/b");
  });

  it("refuses a database URL that is not PostgreSQL, naming where it came from and what to do", () => {
    assert.throws(
      () => loadServerConfig({ dataDir: "/d" }, { FLOTILLA_DATABASE_URL: "mysql://db/f" }),
      /FLOTILLA_DATABASE_URL must be a PostgreSQL URL.*leave it unset to use SQLite/,
    );
    assert.throws(
      () => loadServerConfig({ dataDir: "/d", database: "flotilla.db" }, {}),
      /--database must be a PostgreSQL URL/,
    );
  });

  it("refuses to listen beyond loopback without the explicit flag", () => {
    assert.throws(() => loadServerConfig({ host: "0.0.0.0" }, {}), /--allow-remote/);
    assert.equal(loadServerConfig({ host: "0.0.0.0", allowRemote: true }, {}).allowRemote, true);
  });

  it("names the setting whose value is not a number", () => {
    assert.throws(
      () => loadServerConfig({}, { FLOTILLA_LEASE_MS: "soon" }),
      /FLOTILLA_LEASE_MS from the environment must be a number, got "soon"/,
    );
  });
});
