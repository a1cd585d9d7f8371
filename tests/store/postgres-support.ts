// A fresh PostgreSQL database per test run, and loud skips when there is no server.
import { randomBytes } from "node:crypto";
import { describeRequiring } from "../helpers/requires.js";
import pg from "pg";

/** The server's maintenance database; tests create and drop their own next to it. */
export const ADMIN_URL =
  process.env.FLOTILLA_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops the database, closing whatever connections remain. */
  readonly drop: () => Promise<void>;
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  client.on("error", () => undefined);
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Why PostgreSQL cannot be used, or undefined when it can. */
async function probe(): Promise<string | undefined> {
  try {
    await withAdmin((client) => client.query("SELECT 1"));
    return undefined;
  } catch (error) {
    return `PostgreSQL is unreachable at ${ADMIN_URL} (${error instanceof Error ? error.message : String(error)}); set FLOTILLA_TEST_PG_URL`;
  }
}

const unavailable = await probe();

/** The suite, when PostgreSQL answers; a loud skip, or with CI=true a failure, when not. */
export function describeWithPostgres(name: string, register: () => void): void {
  describeRequiring(name, "PostgreSQL", unavailable, register);
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `flotilla_test_${randomBytes(6).toString("hex")}`;
  await withAdmin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.href,
    name,
    drop: () =>
      withAdmin(async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}
