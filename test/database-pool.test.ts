import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../src/config.js";
import { type Database, openDatabase } from "../src/db/database.js";
import { createTestDatabase, type TestDatabase, usingPostgres } from "./helpers/database.js";

/**
 * The PostgreSQL pool's connection settings, read back from the server and
 * from the kernel: what the service asks for in poolConfig is what its
 * connections have. (PGlite has no connections to set.)
 */

const run = promisify(execFile);

type PostgresConfig = Extract<DatabaseConfig, { url: string }>;

/** The session settings of one of the pool's connections, and that connection's client port. */
async function sessionOf(db: Database) {
  const [row] = await db.prisma.$queryRaw<{ port: number; app: string; timeout: string }[]>`
    SELECT inet_client_port() AS port, current_setting('application_name') AS app,
           current_setting('statement_timeout') AS timeout`;
  if (row === undefined) throw new Error("no session row");
  return row;
}

/** The kernel's view of our end of that connection (`ss`: timers included). */
async function socketOf(port: number): Promise<string> {
  const { stdout } = await run("ss", ["-tnoH", "state", "established", `( sport = :${port} )`]);
  return stdout.trim();
}

describe.runIf(usingPostgres)("the PostgreSQL pool's connections", () => {
  let database: TestDatabase;
  let config: PostgresConfig;
  const opened: Database[] = [];
  const open = async (overrides: Partial<PostgresConfig> = {}) => {
    const db = await openDatabase({ ...config, ...overrides });
    opened.push(db);
    return db;
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    if (database.config.kind === "pglite") throw new Error("expected a PostgreSQL test database");
    config = database.config;
  });
  afterAll(async () => {
    for (const db of opened) await db.close();
    await database?.drop();
  });

  it("are named tasks-api, so that an operator can find them in pg_stat_activity", async () => {
    expect((await sessionOf(await open())).app).toBe("tasks-api");
  });

  it("carry the configured statement timeout, and the server's default (none) when it is 0", async () => {
    expect((await sessionOf(await open({ statementTimeoutMs: 2_500 }))).timeout).toBe("2500ms");
    // 0 turns off the client-side bound too: a statement longer than the
    // connect timeout (which that bound adds to the statement timeout) runs to the end.
    const unbounded = await open({ statementTimeoutMs: 0, connectTimeoutMs: 200 });
    expect((await sessionOf(unbounded)).timeout).toBe("0");
    const [slept] = await unbounded.prisma.$queryRaw<{ done: boolean }[]>`SELECT pg_sleep(0.6) IS NOT NULL AS done`;
    expect(slept?.done).toBe(true);
  });

  it("leave a statement over the timeout to the server to cancel: the client-side bound is only a backstop", async () => {
    const db = await open({ statementTimeoutMs: 1_000, connectTimeoutMs: 400 });
    const error = await db.prisma.$queryRaw`SELECT pg_sleep(2)`.then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(String(error)).toMatch(/canceling statement due to statement timeout/);
    // The connection is still good for the next statement.
    expect((await sessionOf(db)).app).toBe("tasks-api");
  });

  it("have TCP keepalive on, so that a dead peer is found on an idle connection", async () => {
    const { port } = await sessionOf(await open());
    const socket = await socketOf(port);
    expect(socket).toContain(`:${port}`);
    expect(socket).toMatch(/timer:\(keepalive,/);
  });
});
