import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import type { DatabaseConfig } from "../src/config.js";
import { type Database, openDatabase } from "../src/db/database.js";
import { startTestApp } from "./helpers/app.js";
import { createTestDatabase, usingPostgres } from "./helpers/database.js";
import { startWebSocketProxy, type WebSocketProxy } from "./helpers/net/neon-proxy.js";

/**
 * The Neon serverless driver path (DatabaseConfig kind "neon") end to end:
 * Prisma -> @prisma/adapter-neon -> @neondatabase/serverless -> WebSocket ->
 * a loopback WebSocket-to-TCP proxy (test/helpers/net/neon-proxy.ts, after Neon's
 * wsproxy) -> the PostgreSQL protocol on TCP.
 *
 * On PostgreSQL the proxy dials this file's own database. On PGlite there is
 * no server, so the test's PGlite is put on a loopback TCP port with
 * @electric-sql/pglite-socket and the proxy dials that instead.
 */

/** DatabaseConfig's server member ("postgres" | "neon"), narrowed to Neon. */
type NeonConfig = Extract<DatabaseConfig, { url: string }> & { kind: "neon" };

/** `host:port` as the driver puts it in `?address=`: pg's defaults for a URL without a port. */
function addressOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname.replace(/^\[(.*)\]$/, "$1")}:${parsed.port || "5432"}`;
}

const totalBytes = (proxy: WebSocketProxy) =>
  proxy.connections.reduce((sum, connection) => sum + connection.bytesToServer + connection.bytesToClient, 0);

describe("the Neon serverless driver through a WebSocket-to-TCP proxy", () => {
  let proxy: WebSocketProxy;
  let config: NeonConfig;
  let db: Database;
  // Teardown steps, pushed as each resource comes up and run in reverse, so
  // that a setup that fails halfway still releases what it had started.
  const teardown: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    const database = await createTestDatabase();
    teardown.push(() => database.drop());

    let url: string;
    if (database.pglite) {
      // pglite-socket multiplexes its connections onto PGlite's single
      // session one protocol message at a time, so two connections talking at
      // once could interleave their Parse/Bind/Execute. A pool of one keeps
      // the driver to one talking connection per Database. Room for more is
      // needed all the same: the Neon driver does not close its WebSocket on
      // end() (it relies on the server hanging up after Terminate, which
      // PGlite does not do), so connections of a closed Database linger until
      // the proxy closes them.
      const server = new PGLiteSocketServer({ db: database.pglite, host: "127.0.0.1", port: 0, maxConnections: 8 });
      await server.start();
      teardown.push(() => server.stop());
      // PGlite has one database and no authentication: user and database name are not checked.
      url = `postgres://postgres@${server.getServerConn()}/postgres`;
    } else if (database.url !== undefined) {
      url = database.url;
    } else {
      throw new Error("createTestDatabase() returned neither a PGlite nor a PostgreSQL URL");
    }

    proxy = await startWebSocketProxy();
    teardown.push(() => proxy.close());

    config = {
      kind: "neon",
      url,
      poolMax: database.pglite ? 1 : 4,
      connectTimeoutMs: 5_000,
      // 0 = never close idle connections: on PGlite a closed one would linger (see above).
      idleTimeoutMs: database.pglite ? 0 : 10_000,
      statementTimeoutMs: 10_000,
      webSocketProxy: proxy.address,
    };
    db = await openDatabase(config);
    teardown.push(() => db.close());
  });

  afterAll(async () => {
    for (const step of teardown.reverse()) await step();
  });

  it("asks the proxy, on /v1, for the database's own address", async () => {
    const outcome = await db.prisma.$queryRaw`SELECT 1`.then(
      () => "answered",
      (error: unknown) => `failed: ${error instanceof Error ? error.message : String(error)}`,
    );
    // Checked first: a refusal says what was wrong with the request (such as
    // a missing ?address=), where the driver only reports an HTTP status.
    expect(proxy.refusals).toEqual([]);
    expect(outcome).toBe("answered");
    expect(proxy.connections.length).toBeGreaterThan(0);
    for (const connection of proxy.connections) expect(connection.target).toBe(addressOf(config.url));
  });

  it("reports the database ready, with every migration applied", async () => {
    expect(await db.readiness()).toEqual({ database: "ok", migrations: "ok" });
  });

  it("creates a user and tasks with Prisma and reads them back", async () => {
    await db.prisma.user.create({
      data: {
        id: "neon-user-1",
        email: "ada@example.com",
        name: "Ada",
        tasks: { create: [{ title: "Write the proxy" }, { title: "Run it", description: "both ways" }] },
      },
    });

    const user = await db.prisma.user.findUnique({
      where: { id: "neon-user-1" },
      include: { tasks: { orderBy: { title: "asc" } } },
    });
    expect(user).toMatchObject({ id: "neon-user-1", email: "ada@example.com", name: "Ada" });
    expect(user?.tasks.map((task) => [task.title, task.description, task.isCompleted, task.version])).toEqual([
      ["Run it", "both ways", false, 1],
      ["Write the proxy", null, false, 1],
    ]);
    // Filled in by the database (gen_random_uuid()), so it made the round trip.
    expect(user?.tasks[0]?.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it("commits an interactive transaction", async () => {
    await db.prisma.$transaction(async (tx) => {
      await tx.user.create({ data: { id: "neon-user-2" } });
      await tx.task.create({ data: { userId: "neon-user-2", title: "Committed" } });
    });
    expect(await db.prisma.task.findMany({ where: { userId: "neon-user-2" }, select: { title: true } })).toEqual([
      { title: "Committed" },
    ]);
  });

  it("rolls back an interactive transaction that throws, and writes nothing", async () => {
    const before = await db.prisma.task.count();
    let seenInside: number | undefined;

    await expect(
      db.prisma.$transaction(async (tx) => {
        await tx.user.create({ data: { id: "neon-user-3" } });
        await tx.task.create({ data: { userId: "neon-user-3", title: "Never committed" } });
        // The writes are real inside the transaction...
        seenInside = await tx.task.count();
        throw new Error("stop here");
      }),
    ).rejects.toThrow("stop here");

    // ...and gone after the rollback.
    expect(seenInside).toBe(before + 1);
    expect(await db.prisma.task.count()).toBe(before);
    expect(await db.prisma.user.findUnique({ where: { id: "neon-user-3" } })).toBeNull();
    expect(await db.prisma.task.findFirst({ where: { title: "Never committed" } })).toBeNull();
  });

  it("carries the queries through the proxy", async () => {
    const marker = `neon-marker-${"x".repeat(64)}`;
    const before = totalBytes(proxy);
    const [row] = await db.prisma.$queryRaw<{ echoed: string }[]>`SELECT ${marker}::text AS echoed`;
    expect(row?.echoed).toBe(marker);
    // The marker went out as a parameter and came back as a value: at least
    // twice its length crossed the proxy.
    expect(totalBytes(proxy) - before).toBeGreaterThanOrEqual(2 * marker.length);
    expect(proxy.connections.every((connection) => connection.bytesToServer > 0 && connection.bytesToClient > 0)).toBe(
      true,
    );
  });

  // PGlite has one session and no network: it has no client port, and it
  // ignores the parameters of a startup message.
  it.runIf(usingPostgres)("is served by a backend whose client is the proxy, with the pool's settings", async () => {
    const [row] = await db.prisma.$queryRaw<{ port: number; app: string; timeout: string }[]>`
      SELECT inet_client_port() AS port, current_setting('application_name') AS app,
             current_setting('statement_timeout') AS timeout`;
    expect(proxy.connections.map((connection) => connection.localPort)).toContain(row?.port);
    expect(row?.app).toBe("tasks-api");
    expect(row?.timeout).toBe("10s");
  });

  // On PGlite the connections stay open after close: the driver waits for the
  // server to hang up after Terminate, and pglite-socket does not.
  it.runIf(usingPostgres)("closes its connections when the Database is closed", async () => {
    const first = proxy.connections.length;
    const other = await openDatabase(config);
    try {
      expect(await other.readiness()).toEqual({ database: "ok", migrations: "ok" });
    } finally {
      await other.close();
    }
    const opened = proxy.connections.slice(first);
    expect(opened.length).toBeGreaterThan(0);
    // The server hangs up after the driver's Terminate message; wait for the
    // proxy to see it (an event, not a duration: vi.waitFor only bounds it).
    await vi.waitFor(() => expect(opened.filter((connection) => connection.open)).toEqual([]), { timeout: 5_000 });
  });

  it("serves GET /readyz with 200 from the whole app on the neon config", async () => {
    const first = proxy.connections.length;
    // startTestApp's own wiring (auth and all), on this file's database
    // reached the Neon way; given an existing database it leaves it in place.
    // JSON logs: "pretty" would start a pino-pretty worker thread nobody stops.
    const t = await startTestApp({ LOG_FORMAT: "json" }, { config, drop: async () => {} });
    try {
      expect(t.db.kind).toBe("neon");
      const res = await t.request("/readyz");
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ status: "ready", database: "ok", migrations: "ok" });
      // The app's own pool opened its own WebSocket(s) through the proxy.
      expect(proxy.connections.length).toBeGreaterThan(first);
    } finally {
      await t.close();
    }
  });
});

describe("the test WebSocket proxy", () => {
  /** The HTTP status the proxy answers an upgrade to `path` with (101 when it accepts). */
  async function upgradeStatus(proxy: WebSocketProxy, path: string): Promise<number> {
    const ws = new WebSocket(`ws://${proxy.address.replace(/\/v1$/, "")}${path}`);
    try {
      return await new Promise<number>((resolve, reject) => {
        ws.once("upgrade", (response) => resolve(response.statusCode ?? 0));
        ws.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0));
        ws.once("error", reject);
      });
    } finally {
      ws.terminate();
    }
  }

  it("connects only to loopback addresses, and only when told where", async () => {
    const proxy = await startWebSocketProxy();
    try {
      expect(await upgradeStatus(proxy, "/v1")).toBe(400);
      expect(await upgradeStatus(proxy, "/v1?address=10.0.0.1:5432")).toBe(403);
      expect(await upgradeStatus(proxy, "/v1?address=[2001:db8::1]:5432")).toBe(403);
      expect(await upgradeStatus(proxy, "/v2?address=127.0.0.1:5432")).toBe(404);
      // Nothing was dialled for any of them.
      expect(proxy.connections).toEqual([]);
      expect(proxy.refusals).toHaveLength(4);
    } finally {
      await proxy.close();
    }
  });
});
