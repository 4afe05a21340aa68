import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { DatabaseConfig } from "../src/config.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { createTestDatabase, type TestDatabase, usingPostgres } from "./helpers/database.js";
import { codesOf, dataOf, execute, type GraphQLResponse } from "./helpers/graphql.js";
import { hangAfterMs, type Outcome, within } from "./helpers/hangs.js";
import { startTcpProxy, type TcpProxy } from "./helpers/net/tcp-proxy.js";
import { CreateLabel, CreateTask, ListTasks } from "./helpers/operations.js";
import { errorOf, listOf, type RestResponse, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * Database faults: the app runs on a real PostgreSQL database, reached
 * through a loopback TCP proxy that the tests turn off, reset, slow down or
 * make hang. Nothing here stops or restarts the PostgreSQL server itself.
 *
 * What must hold: an outage is the service's problem for now, not a bug (503
 * with Retry-After and the error envelope, never a 500), no request hangs,
 * and the app recovers on its own once the database is back.
 */

/** The vitest timeout of the tests that wait for requests that might hang. */
const hangTestTimeout = hangAfterMs + 15_000;

const firstPage = { first: 5, after: null, filter: null, orderBy: null };

/** A REST 503: the contract's envelope (rest() checks it), code SERVICE_UNAVAILABLE, Retry-After. */
function expectRestUnavailable(res: Outcome<RestResponse>, what: string): void {
  expect(res, `${what} hung`).not.toBe("hung");
  if (res === "hung") return;
  expect({ what, status: res.status, text: res.text }).toMatchObject({ what, status: 503 });
  expect(errorOf(res, 503, "SERVICE_UNAVAILABLE").message).toMatch(/unavailable|try again/i);
  expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
}

/** A GraphQL 503: HTTP 503, one SERVICE_UNAVAILABLE error, Retry-After, no data. */
function expectGraphQLUnavailable(res: Outcome<GraphQLResponse<unknown>>, what: string): void {
  expect(res, `${what} hung`).not.toBe("hung");
  if (res === "hung") return;
  expect({ what, status: res.status, codes: codesOf(res), errors: res.errors }).toMatchObject({
    what,
    status: 503,
    codes: ["SERVICE_UNAVAILABLE"],
  });
  expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  expect(res.data ?? null).toBeNull();
}

/** Success or 503, never anything else (a 500, a hang). */
function expectSuccessOr503(res: Outcome<{ status: number }>, success: number[], what: string): void {
  expect(res, `${what} hung`).not.toBe("hung");
  if (res === "hung") return;
  expect([...success, 503], `${what} answered ${res.status}`).toContain(res.status);
}

describe.runIf(usingPostgres)("database faults (PostgreSQL behind a loopback TCP proxy)", () => {
  let database: TestDatabase;
  let databaseUrl: string;
  /** Each test's app and proxy, closed after it: the proxy first, so nothing waits on a hanging socket. */
  let running: { t: TestApp; proxy: TcpProxy }[] = [];
  const admins: pg.Client[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    if (database.url === undefined) throw new Error("a PostgreSQL test database has a URL");
    databaseUrl = database.url;
  });

  afterEach(async () => {
    for (const { t, proxy } of running) {
      await proxy.close();
      await t.close();
    }
    running = [];
    for (const client of admins.splice(0)) await client.end().catch(() => {});
  });

  afterAll(async () => {
    await database?.drop();
  });

  /**
   * A fresh app whose database connections all go through a fresh proxy, with
   * short timeouts and a small pool. startTestApp takes its database config
   * from the TestDatabase it is given, so the config is written here.
   */
  async function faultyApp(
    overrides: Partial<Omit<Extract<DatabaseConfig, { url: string }>, "kind" | "url">> = {},
  ): Promise<{ t: TestApp; proxy: TcpProxy }> {
    const proxy = await startTcpProxy(databaseUrl);
    const { url } = proxy;
    const config: DatabaseConfig = {
      kind: "postgres",
      url,
      poolMax: 3,
      connectTimeoutMs: 1_000,
      idleTimeoutMs: 30_000,
      statementTimeoutMs: 1_500,
      ...overrides,
    };
    // drop() is a no-op: the database belongs to the file, dropped in afterAll.
    const t = await startTestApp({}, { config, url, drop: async () => {} });
    running.push({ t, proxy });
    return { t, proxy };
  }

  /** A plain connection to the test database (not through the proxy), for setting up and inspecting. */
  async function adminClient(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: databaseUrl, application_name: "faults-admin" });
    await client.connect();
    admins.push(client);
    return client;
  }

  /** A user with a cached token and a row, so that later requests only need the database for their own work. */
  async function signedIn(t: TestApp, user: string): Promise<{ token: string; path: string }> {
    const token = await mintToken(user);
    const path = `/api/${user}/tasks`;
    expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBe(0);
    return { token, path };
  }

  /** A create with Idempotency-Key `key` (and that title) answers 201, and the list then holds that task alone. */
  async function expectCreatesOnce(t: TestApp, token: string, path: string, key: string): Promise<void> {
    const created = taskOf(
      await rest(t, "POST", path, { token, headers: { "idempotency-key": key }, body: { title: key } }),
      201,
    );
    expect(listOf(await rest(t, "GET", path, { token })).data.map((task) => task.id)).toEqual([created.id]);
  }

  describe("the database is down", () => {
    it.each([
      { refuse: "close", drop: "end" },
      { refuse: "reset", drop: "reset" },
    ] as const)(
      "connections refused ($refuse) and dropped ($drop): 503 everywhere, /healthz 200, recovery without a restart",
      async ({ refuse, drop }) => {
        const { t, proxy } = await faultyApp();
        const { token, path } = await signedIn(t, `faults-down-${refuse}`);
        const created = taskOf(await rest(t, "POST", path, { token, body: { title: "before the outage" } }), 201);
        expect((await t.request("/readyz")).status).toBe(200);

        await proxy.refuse(refuse);
        proxy.drop(drop);
        const taskPath = `${path}/${created.id}`;
        expectRestUnavailable(await within(rest(t, "GET", path, { token })), "GET list");
        expectRestUnavailable(
          await within(rest(t, "POST", path, { token, body: { title: "during the outage" } })),
          "POST",
        );
        expectRestUnavailable(
          await within(
            rest(t, "POST", path, {
              token,
              headers: { "idempotency-key": `down-${refuse}` },
              body: { title: "during the outage, once" },
            }),
          ),
          "POST with Idempotency-Key",
        );
        expectRestUnavailable(await within(rest(t, "GET", taskPath, { token })), "GET one");
        expectRestUnavailable(
          await within(rest(t, "PUT", taskPath, { token, body: { title: "changed during the outage" } })),
          "PUT",
        );
        expectRestUnavailable(await within(rest(t, "PATCH", `${taskPath}/complete`, { token })), "PATCH");
        expectRestUnavailable(await within(rest(t, "DELETE", taskPath, { token })), "DELETE");
        expectGraphQLUnavailable(await within(execute(t, ListTasks, firstPage, token)), "GraphQL tasks");
        expectGraphQLUnavailable(
          await within(execute(t, CreateTask, { input: { title: "during the outage" } }, token)),
          "GraphQL createTask",
        );

        // A token never seen before: the user upsert (while building the context) fails first.
        const newcomer = `faults-newcomer-${refuse}`;
        const fresh = await mintToken(newcomer);
        expectRestUnavailable(
          await within(rest(t, "GET", `/api/${newcomer}/tasks`, { token: fresh })),
          "new user REST",
        );
        expectGraphQLUnavailable(await within(execute(t, ListTasks, firstPage, fresh)), "new user GraphQL");

        const ready = await t.request("/readyz");
        expect(ready.status).toBe(503);
        expect(ready.headers.get("retry-after")).toMatch(/^\d+$/);
        expect(await ready.json()).toEqual({ status: "not_ready", database: "unreachable", migrations: "unknown" });
        const health = await t.request("/healthz");
        expect(health.status).toBe(200);
        expect(await health.json()).toEqual({ status: "ok" });

        // Back: the same app serves again.
        await proxy.pass();
        const upstreamBefore = proxy.stats.upstream;
        expect((await t.request("/readyz")).status).toBe(200);
        const list = listOf(await rest(t, "GET", path, { token }));
        expect(list.data.map((task) => task.id)).toEqual([created.id]);
        expect(list.data[0]?.title).toBe("before the outage");
        taskOf(await rest(t, "POST", path, { token, body: { title: "after the outage" } }), 201);
        expect(dataOf(await execute(t, ListTasks, firstPage, token)).tasks.totalCount).toBe(2);
        expect(dataOf(await execute(t, ListTasks, firstPage, fresh)).tasks.totalCount).toBe(0);
        // On new connections: every old one was dropped.
        expect(proxy.stats.upstream).toBeGreaterThan(upstreamBefore);
      },
      hangTestTimeout,
    );
  });

  it.each(["reset", "end"] as const)(
    "connections dropped mid-flight (%s): the in-flight requests get 503 (not 500, no hang), later ones succeed",
    async (how) => {
      const { t, proxy } = await faultyApp({ poolMax: 3 });
      const { token, path } = await signedIn(t, `faults-midflight-${how}`);
      for (let i = 0; i < 3; i++) taskOf(await rest(t, "POST", path, { token, body: { title: `task ${i}` } }), 201);

      // Every chunk is held a while, so the requests below are surely in flight when the connections go.
      proxy.delay(500);
      const received = proxy.stats.bytesFromClients;
      const inFlight = [
        ...Array.from({ length: 3 }, () => within(rest(t, "GET", path, { token }))),
        ...Array.from({ length: 2 }, (_, i) => within(rest(t, "POST", path, { token, body: { title: `lost ${i}` } }))),
        ...Array.from({ length: 3 }, () => within(execute(t, ListTasks, firstPage, token))),
      ];
      // Some statements have reached the proxy (and wait there): reset every connection under them.
      await proxy.waitFor((stats) => stats.bytesFromClients > received);
      const upstreamAtDrop = proxy.stats.upstream;
      proxy.drop(how);
      proxy.delay(0);

      const outcomes = await Promise.all(inFlight);
      let failed = 0;
      for (const [i, outcome] of outcomes.entries()) {
        expectSuccessOr503(outcome, [200, 201], `request ${i}`);
        if (outcome === "hung" || outcome.status !== 503) continue;
        failed++;
        if ("body" in outcome) expectRestUnavailable(outcome, `request ${i}`);
        else expectGraphQLUnavailable(outcome, `request ${i}`);
      }
      // At least the requests whose statements were held by the proxy lost their connection.
      expect(failed).toBeGreaterThan(0);

      // The pool heals: every later request succeeds, on new connections.
      for (let i = 0; i < 10; i++) {
        expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBeGreaterThanOrEqual(3);
        dataOf(await execute(t, ListTasks, firstPage, token));
      }
      taskOf(await rest(t, "POST", path, { token, body: { title: "after the reset" } }), 201);
      expect(proxy.stats.upstream).toBeGreaterThan(upstreamAtDrop);
    },
    hangTestTimeout,
  );

  describe("the database hangs (the proxy accepts and never forwards)", () => {
    it(
      "with no open connection: every request ends with 503, /readyz 503, /healthz 200; then recovery",
      async () => {
        const { t, proxy } = await faultyApp();
        const user = "faults-hang-cold";
        const token = await mintToken(user);
        const path = `/api/${user}/tasks`;
        proxy.blackhole();

        const outcomes = await Promise.all([
          within(rest(t, "GET", path, { token })),
          within(rest(t, "POST", path, { token, body: { title: "into the void" } })),
          within(execute(t, ListTasks, firstPage, token)),
          within(t.request("/readyz")),
        ]);
        const [list, post, graph, ready] = outcomes;
        expectRestUnavailable(list, "GET list");
        expectRestUnavailable(post, "POST");
        expectGraphQLUnavailable(graph, "GraphQL tasks");
        expect(ready === "hung" ? "hung" : ready.status).toBe(503);
        expect((await t.request("/healthz")).status).toBe(200);
        expect(proxy.stats.accepted).toBeGreaterThan(0);
        expect(proxy.stats.upstream).toBe(0);

        await proxy.pass();
        expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBe(0);
        expect((await t.request("/readyz")).status).toBe(200);
      },
      hangTestTimeout,
    );

    it(
      "with open pooled connections: every request ends with 503 (no hang), /readyz 503; then recovery",
      async () => {
        const { t, proxy } = await faultyApp({ poolMax: 2 });
        const { token, path } = await signedIn(t, "faults-hang-warm");
        // Two connections open and idle in the pool.
        await Promise.all([rest(t, "GET", path, { token }), rest(t, "GET", path, { token })]);
        expect(proxy.stats.open).toBeGreaterThan(0);
        proxy.blackhole();

        const [list, post, graph, ready] = await Promise.all([
          within(rest(t, "GET", path, { token })),
          within(rest(t, "POST", path, { token, body: { title: "into the void" } })),
          within(execute(t, ListTasks, firstPage, token)),
          within(t.request("/readyz")),
        ]);
        expectRestUnavailable(list, "GET list on a hanging connection");
        expectRestUnavailable(post, "POST on a hanging connection");
        expectGraphQLUnavailable(graph, "GraphQL tasks on a hanging connection");
        expect(ready === "hung" ? "hung" : ready.status, "/readyz on a hanging connection").toBe(503);

        await proxy.pass();
        expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBeGreaterThanOrEqual(0);
      },
      hangTestTimeout,
    );

    it(
      "a statement that waits past DATABASE_STATEMENT_TIMEOUT_MS (a lock held elsewhere) ends with 503",
      async () => {
        const { t } = await faultyApp({ statementTimeoutMs: 1_000 });
        const { token, path } = await signedIn(t, "faults-statement-timeout");
        taskOf(await rest(t, "POST", path, { token, body: { title: "locked away" } }), 201);

        const admin = await adminClient();
        await admin.query("BEGIN");
        await admin.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
        try {
          expectRestUnavailable(await within(rest(t, "GET", path, { token })), "GET list behind a lock");
          expectGraphQLUnavailable(await within(execute(t, ListTasks, firstPage, token)), "GraphQL behind a lock");
        } finally {
          await admin.query("ROLLBACK");
        }
        expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBe(1);
      },
      hangTestTimeout,
    );
  });

  it.each(["end", "reset"] as const)(
    "a transaction's COMMIT lost on the way to the server (%s): a create with labels ends with 503, not 500, and writes nothing",
    async (how) => {
      const { t, proxy } = await faultyApp({ statementTimeoutMs: 10_000 });
      const { token, path } = await signedIn(t, `faults-commit-lost-${how}`);
      // A create with labels is one transaction; its COMMIT never reaches the server.
      const body = { title: "labelled", labels: ["home"] };
      proxy.dropOn("COMMIT", how);
      expectRestUnavailable(
        await within(rest(t, "POST", path, { token, body })),
        `POST with labels, COMMIT lost (${how})`,
      );
      // Nothing was written; the same create then succeeds on a new connection.
      expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBe(0);
      expect(taskOf(await rest(t, "POST", path, { token, body }), 201).labels).toEqual(["home"]);
    },
    hangTestTimeout,
  );

  it(
    "a task's labels lost on the way (their read's connection dropped): 503, not a hang, then read again",
    async () => {
      const writer = await faultyApp();
      const { token, path } = await signedIn(writer.t, "faults-labels-lost");
      const task = taskOf(await rest(writer.t, "POST", path, { token, body: { title: "t", labels: ["home"] } }), 201);
      // A second instance, whose connections have not yet sent (prepared) the label read: its text is on the wire.
      const { t, proxy } = await faultyApp();
      proxy.dropOn("JOIN labels l", "reset");
      expectRestUnavailable(await within(rest(t, "GET", `${path}/${task.id}`, { token })), "GET, labels lost");
      expect(taskOf(await rest(t, "GET", `${path}/${task.id}`, { token })).labels).toEqual(["home"]);
    },
    hangTestTimeout,
  );

  it(
    "a label made while another transaction holds the same name uncommitted: 503 when it times out, not 409; made once that one rolls back",
    async () => {
      const { t } = await faultyApp({ statementTimeoutMs: 1_500 });
      const user = "faults-label-wait";
      const { token } = await signedIn(t, user);
      const admin = await adminClient();
      await admin.query("BEGIN");
      await admin.query("INSERT INTO labels (user_id, name, name_key, updated_at) VALUES ($1, 'Dup', 'dup', now())", [
        user,
      ]);
      try {
        // The unique index makes the create wait for that transaction, past the statement timeout.
        const made = await within(execute(t, CreateLabel, { input: { name: "dup" } }, token));
        expectGraphQLUnavailable(made, "createLabel behind an uncommitted same name");
      } finally {
        await admin.query("ROLLBACK");
      }
      const again = await execute(t, CreateLabel, { input: { name: "dup" } }, token);
      expect(dataOf(again).createLabel.name).toBe("dup");
    },
    hangTestTimeout,
  );

  it.each([{ lost: "reset" }, { lost: "end" }, { lost: "terminate" }] as const)(
    "a transaction's connection lost mid-statement ($lost): the create with Idempotency-Key ends with 503, not 500, and leaves nothing",
    async ({ lost }) => {
      const { t, proxy } = await faultyApp({ statementTimeoutMs: 10_000 });
      const user = `faults-tx-lost-${lost}`;
      const { token, path } = await signedIn(t, user);
      const admin = await adminClient();
      await admin.query("BEGIN");
      await admin.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
      try {
        const post = within(
          rest(t, "POST", path, { token, headers: { "idempotency-key": "lost" }, body: { title: "lost" } }),
        );
        // The create's transaction is open and its statement waits on the lock: then its connection goes.
        const waiting = async () => {
          const { rows } = await admin.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'tasks-api' AND wait_event_type = 'Lock'`,
          );
          return rows.map((row) => row.pid);
        };
        let pids: number[] = [];
        for (let tries = 0; pids.length === 0 && tries < 200; tries++) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          pids = await waiting();
        }
        expect(pids, "the create's statement waits on the lock").toHaveLength(1);
        if (lost === "terminate") await admin.query("SELECT pg_terminate_backend($1)", [pids[0]]);
        else proxy.drop(lost);
        expectRestUnavailable(await post, `POST with Idempotency-Key, connection lost (${lost})`);
      } finally {
        await admin.query("ROLLBACK");
      }
      // The same key then creates the task once: the lost attempt left nothing behind.
      await expectCreatesOnce(t, token, path, "lost");
    },
    hangTestTimeout,
  );

  it.each([
    { statementTimeoutMs: 1_500, why: "a short statement timeout" },
    { statementTimeoutMs: 10_000, why: "the default statement timeout (10 s)" },
  ])(
    "a create with Idempotency-Key (a transaction) stuck behind a lock ends with 503, not 500 ($why)",
    async ({ statementTimeoutMs }) => {
      const { t } = await faultyApp({ statementTimeoutMs });
      const user = `faults-idempotent-${statementTimeoutMs}`;
      const { token, path } = await signedIn(t, user);
      const admin = await adminClient();
      await admin.query("BEGIN");
      await admin.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
      try {
        const post = await within(
          rest(t, "POST", path, { token, headers: { "idempotency-key": "stuck" }, body: { title: "stuck" } }),
        );
        expectRestUnavailable(post, "POST with Idempotency-Key behind a lock");
      } finally {
        await admin.query("ROLLBACK");
      }
      // Once the lock is gone, the same key creates the task (the failed attempt left nothing behind).
      await expectCreatesOnce(t, token, path, "stuck");
    },
    hangTestTimeout,
  );

  it(
    "pool exhausted by long statements: requests get 503 without opening more connections, then all is well",
    async () => {
      const poolMax = 2;
      const { t, proxy } = await faultyApp({ poolMax, connectTimeoutMs: 1_000, statementTimeoutMs: 10_000 });
      const { token, path } = await signedIn(t, "faults-pool");

      // Every connection of the pool busy for 3 s.
      const admin = await adminClient();
      // (A PrismaPromise runs only once it is awaited or then-ed.)
      const holders = Array.from({ length: poolMax }, () =>
        t.db.prisma.$queryRaw<{ slept: number }[]>`SELECT 1 AS slept FROM pg_sleep(3)`.then((rows) => rows),
      );
      for (const holder of holders) holder.catch(() => {});
      for (let busy = 0; busy < poolMax; await new Promise((resolve) => setTimeout(resolve, 20))) {
        const { rows } = await admin.query<{ busy: number }>(
          `SELECT count(*)::int AS busy FROM pg_stat_activity
           WHERE datname = current_database() AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()`,
        );
        busy = rows[0]?.busy ?? 0;
      }

      const outcomes = await Promise.all([
        ...Array.from({ length: 4 }, () => within(rest(t, "GET", path, { token }))),
        within(rest(t, "POST", path, { token, body: { title: "no room" } })),
        ...Array.from({ length: 3 }, () => within(execute(t, ListTasks, firstPage, token))),
      ]);
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome !== "hung" && "body" in outcome) expectRestUnavailable(outcome, `request ${i}`);
        else expectGraphQLUnavailable(outcome, `request ${i}`);
      }
      // No pile-up: the pool never opened more than its maximum.
      expect(proxy.stats.maxOpen).toBeLessThanOrEqual(poolMax);

      // The long statements were not disturbed, and afterwards everything works.
      await expect(Promise.all(holders)).resolves.toHaveLength(poolMax);
      expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBe(0);
      taskOf(await rest(t, "POST", path, { token, body: { title: "room again" } }), 201);
      expect(dataOf(await execute(t, ListTasks, firstPage, token)).tasks.totalCount).toBe(1);
    },
    hangTestTimeout,
  );

  it(
    "pool exhausted when a create with Idempotency-Key (a transaction) needs its connection: 201 or 503, not 500",
    async () => {
      // The defaults for the pool's acquire timeout (5 s) and statement timeout (10 s).
      const { t, proxy } = await faultyApp({ poolMax: 1, connectTimeoutMs: 5_000, statementTimeoutMs: 10_000 });
      const { token, path } = await signedIn(t, "faults-pool-transaction");

      // Slow the one connection down, so that the create's first statement (the key lookup) is seen in flight...
      proxy.delay(300);
      const received = proxy.stats.bytesFromClients;
      const post = within(
        rest(t, "POST", path, { token, headers: { "idempotency-key": "pool" }, body: { title: "in a transaction" } }),
      );
      await proxy.waitFor((stats) => stats.bytesFromClients > received);
      // ...and queue a 3 s statement behind it: it gets the connection before the create's transaction asks for one.
      const holder = t.db.prisma.$queryRaw<{ slept: number }[]>`SELECT 1 AS slept FROM pg_sleep(3)`.then(
        (rows) => rows,
      );
      // Awaited below; if the test fails first, its rejection at cleanup is not an unhandled one.
      holder.catch(() => {});

      const outcome = await post;
      expectSuccessOr503(outcome, [201], "POST with Idempotency-Key while the pool is busy");
      if (outcome !== "hung" && outcome.status === 503) expectRestUnavailable(outcome, "POST with Idempotency-Key");
      await expect(holder).resolves.toHaveLength(1);

      proxy.delay(0);
      const again = await rest(t, "POST", path, {
        token,
        headers: { "idempotency-key": "pool" },
        body: { title: "in a transaction" },
      });
      const task = taskOf(again, 201);
      expect(listOf(await rest(t, "GET", path, { token })).data.map((each) => each.id)).toEqual([task.id]);
    },
    hangTestTimeout,
  );

  it(
    "a backend killed just as its connection is handed to a waiting transaction: 503 for that request, no crash",
    async () => {
      // One connection, so that a transaction waits for the one a read is using.
      const { t, proxy } = await faultyApp({ poolMax: 1 });
      const { token, path } = await signedIn(t, "faults-handover");
      const task = taskOf(await rest(t, "POST", path, { token, body: { title: "read me" } }), 201);
      const admin = await adminClient();

      // The read's reply is held in the proxy; meanwhile a create with labels (a transaction) waits for
      // the pool's connection, and the server ends that connection's backend. Then the reply and the
      // server's goodbye arrive in one chunk: the pool hands the connection to the transaction while
      // the driver is still reading that chunk, and the driver reports the goodbye as an 'error' on a
      // connection whose new owner has not yet put its listener on it. Without a listener of the
      // pool's own on every connection, that error crashes the process (Vitest reports it as an
      // uncaught exception, failing the run).
      proxy.holdFromServer();
      const fromServer = proxy.stats.bytesFromServer;
      const read = within(rest(t, "GET", `${path}/${task.id}`, { token }));
      await proxy.waitFor((stats) => stats.bytesFromServer > fromServer);
      const write = within(rest(t, "POST", path, { token, body: { title: "labelled", labels: ["home"] } }));
      // The create needs no I/O before it asks the pool (the token is cached): a moment is enough.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const beforeKill = proxy.stats.bytesFromServer;
      const { rows } = await admin.query<{ killed: boolean }>(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
         WHERE datname = current_database() AND application_name = 'tasks-api'`,
      );
      expect(rows.map((row) => row.killed)).toEqual([true]);
      // The server's goodbye (its FATAL error) is held too.
      await proxy.waitFor((stats) => stats.bytesFromServer > beforeKill);
      proxy.releaseHeld();

      const [readOutcome, writeOutcome] = await Promise.all([read, write]);
      expectSuccessOr503(readOutcome, [200], "the read");
      // The transaction got the dead connection: its BEGIN fails, a 503 (this also shows the handover happened).
      expectRestUnavailable(writeOutcome, "the create handed the dead connection");
      // And the pool carries on with a new connection.
      expect(
        taskOf(await rest(t, "POST", path, { token, body: { title: "labelled", labels: ["home"] } }), 201).labels,
      ).toEqual(["home"]);
    },
    hangTestTimeout,
  );

  it(
    "backends killed with pg_terminate_backend during a burst: no 500s, only 503s, and later requests succeed",
    async () => {
      const { t, proxy } = await faultyApp({ poolMax: 3 });
      const { token, path } = await signedIn(t, "faults-terminate");
      // Slow every chunk a little, so that connections are busy when they are killed.
      proxy.delay(10);
      const admin = await adminClient();

      let terminated = 0;
      let bursting = true;
      const killer = (async () => {
        while (bursting) {
          const { rows } = await admin.query<{ killed: boolean }>(
            `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'tasks-api' AND pid <> pg_backend_pid()`,
          );
          terminated += rows.filter((row) => row.killed).length;
          await new Promise((resolve) => setTimeout(resolve, 150));
        }
      })();

      const burst = await Promise.all(
        Array.from({ length: 45 }, (_, i) => {
          if (i % 3 === 0) return within(rest(t, "POST", path, { token, body: { title: `burst ${i}` } }));
          if (i % 3 === 1) return within(rest(t, "GET", path, { token }));
          return within(execute(t, ListTasks, firstPage, token));
        }),
      );
      bursting = false;
      await killer;

      const statuses: Record<number, number> = {};
      for (const [i, outcome] of burst.entries()) {
        expectSuccessOr503(outcome, [200, 201], `burst request ${i}`);
        if (outcome === "hung") continue;
        statuses[outcome.status] = (statuses[outcome.status] ?? 0) + 1;
        if (outcome.status !== 503) continue;
        if ("body" in outcome) expectRestUnavailable(outcome, `burst request ${i}`);
        else expectGraphQLUnavailable(outcome, `burst request ${i}`);
      }
      expect(statuses[500]).toBeUndefined();
      // The app's own backends were killed, and the pool had to open new connections.
      expect(terminated).toBeGreaterThan(0);
      expect(proxy.stats.upstream).toBeGreaterThan(3);

      proxy.delay(0);
      for (let i = 0; i < 10; i++) {
        listOf(await rest(t, "GET", path, { token }));
        dataOf(await execute(t, ListTasks, firstPage, token));
      }
      const posted = statuses[201] ?? 0;
      // Every create that answered 201 is there (a create that answered 503 may or may not have committed).
      expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBeGreaterThanOrEqual(posted);
    },
    hangTestTimeout,
  );

  describe("delete racing update on the same task", () => {
    const rounds = 40;

    it("without If-Match: the delete always wins in the end, the update is 200 or 404, no 500s", async () => {
      const { t } = await faultyApp({ poolMax: 5 });
      const { token, path } = await signedIn(t, "faults-race");
      const seen = new Set<string>();
      const updates: Record<number, number> = {};
      for (let round = 0; round < rounds; round++) {
        const task = taskOf(await rest(t, "POST", path, { token, body: { title: `race ${round}` } }), 201);
        expect(seen.has(task.id)).toBe(false);
        seen.add(task.id);
        const taskPath = `${path}/${task.id}`;
        const [update, remove] = await Promise.all([
          rest(t, "PUT", taskPath, { token, body: { title: `updated ${round}` } }),
          rest(t, "DELETE", taskPath, { token }),
        ]);
        expect(remove.status, `round ${round}: DELETE ${remove.text}`).toBe(204);
        expect([200, 404], `round ${round}: PUT ${update.status} ${update.text}`).toContain(update.status);
        if (update.status === 200) expect(taskOf(update)).toMatchObject({ title: `updated ${round}`, version: 2 });
        else errorOf(update, 404, "NOT_FOUND");
        updates[update.status] = (updates[update.status] ?? 0) + 1;
        errorOf(await rest(t, "GET", taskPath, { token }), 404, "NOT_FOUND");
      }
      // No row left over, none duplicated.
      expect(listOf(await rest(t, "GET", path, { token })).meta.total).toBe(0);
      expect(await t.db.prisma.task.count({ where: { userId: "faults-race" } })).toBe(0);
      expect(seen.size).toBe(rounds);
      expect((updates[200] ?? 0) + (updates[404] ?? 0)).toBe(rounds);
    });

    it('with If-Match: "1" on both: exactly one wins, and the final row matches the winner', async () => {
      const { t } = await faultyApp({ poolMax: 5 });
      const user = "faults-race-if-match";
      const { token, path } = await signedIn(t, user);
      const survivors = new Set<string>();
      for (let round = 0; round < rounds; round++) {
        const task = taskOf(await rest(t, "POST", path, { token, body: { title: `race ${round}` } }), 201);
        const taskPath = `${path}/${task.id}`;
        const ifMatch = { "if-match": '"1"' };
        const [update, remove] = await Promise.all([
          rest(t, "PUT", taskPath, { token, headers: ifMatch, body: { title: `updated ${round}` } }),
          rest(t, "DELETE", taskPath, { token, headers: ifMatch }),
        ]);
        const outcome = `round ${round}: PUT ${update.status} ${update.text}, DELETE ${remove.status} ${remove.text}`;
        const current = await rest(t, "GET", taskPath, { token });
        if (update.status === 200) {
          // The update came first: the delete's precondition failed, the updated task stays.
          expect(remove.status, outcome).toBe(412);
          errorOf(remove, 412, "PRECONDITION_FAILED");
          expect(taskOf(current)).toMatchObject({ id: task.id, title: `updated ${round}`, version: 2 });
          survivors.add(task.id);
        } else {
          // The delete came first: the update finds nothing.
          expect(remove.status, outcome).toBe(204);
          errorOf(update, 404, "NOT_FOUND");
          errorOf(current, 404, "NOT_FOUND");
        }
      }
      const list = listOf(await rest(t, "GET", `${path}?limit=1000`, { token }));
      expect(new Set(list.data.map((task) => task.id))).toEqual(survivors);
      expect(list.meta.total).toBe(survivors.size);
      expect(await t.db.prisma.task.count({ where: { userId: user } })).toBe(survivors.size);
    });
  });
});

/**
 * The default (embedded) run has no PostgreSQL server to cut off, so the
 * outage mapping is checked here on PGlite itself: served over its socket
 * server, reached through the same proxy, with the app speaking to it as to
 * any PostgreSQL. An unreachable database must be a 503, never a 500.
 */
describe.runIf(!usingPostgres)("a database outage on the embedded database (PGlite behind a TCP proxy)", () => {
  let database: TestDatabase;
  let socketServer: PGLiteSocketServer;
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    database = await createTestDatabase();
    if (database.pglite === undefined) throw new Error("a PGlite test database has its PGlite");
    socketServer = new PGLiteSocketServer({ db: database.pglite, host: "127.0.0.1", port: 0, maxConnections: 4 });
    await socketServer.start();
    // PGlite has one database and no authentication: user and database name are not checked.
    proxy = await startTcpProxy(`postgres://postgres@${socketServer.getServerConn()}/postgres`);
    // One connection: pglite-socket runs every connection on PGlite's one session.
    const config: DatabaseConfig = {
      kind: "postgres",
      url: proxy.url,
      poolMax: 1,
      connectTimeoutMs: 1_000,
      idleTimeoutMs: 30_000,
      statementTimeoutMs: 1_500,
    };
    t = await startTestApp({}, { config, url: proxy.url, drop: async () => {} });
  });

  afterAll(async () => {
    await proxy?.close();
    await t?.close();
    await socketServer?.stop();
    await database?.drop();
  });

  it("REST and GraphQL answer 503 with Retry-After while it is unreachable, and recover without a restart", async () => {
    const token = await mintToken("pglite-outage");
    const path = "/api/pglite-outage/tasks";
    taskOf(await rest(t, "POST", path, { token, body: { title: "before the outage" } }), 201);
    expect(proxy.stats.accepted).toBeGreaterThan(0);

    await proxy.refuse("close");
    proxy.drop("reset");
    expectRestUnavailable(await within(rest(t, "GET", path, { token })), "GET list");
    expectRestUnavailable(await within(rest(t, "POST", path, { token, body: { title: "lost?" } })), "POST");
    expectGraphQLUnavailable(await within(execute(t, ListTasks, firstPage, token)), "GraphQL tasks");
    expect((await within(t.request("/readyz"))) === "hung" ? "hung" : "answered").toBe("answered");
    expect((await t.request("/healthz")).status).toBe(200);

    await proxy.pass();
    const after = listOf(await rest(t, "GET", path, { token }));
    expect(after.data.map((task) => task.title)).toEqual(["before the outage"]);
    expect(dataOf(await execute(t, ListTasks, firstPage, token)).tasks.totalCount).toBe(1);
  });
});
