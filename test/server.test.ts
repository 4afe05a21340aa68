import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { Agent, get, request } from "node:http";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./helpers/database.js";
import { killAllServers, startServer } from "./helpers/server.js";
import { mintToken, testSecret } from "./helpers/tokens.js";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

/** A plain TCP forwarder on loopback: the database "appears" on `port`. */
function forward(port: number, to: number): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer((socket) => {
      const upstream = connect(to, "127.0.0.1");
      socket.pipe(upstream).pipe(socket);
      socket.on("error", () => upstream.destroy());
      upstream.on("error", () => socket.destroy());
    }).listen(port, "127.0.0.1", () => resolve(server));
  });
}

/** One POST through a keep-alive agent: its status, or the socket error that ended it. */
function postOn(
  agent: Agent,
  url: string,
  token: string,
  body: unknown,
): Promise<{ status?: number; connection?: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection ?? "" }));
        res.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(JSON.stringify(body));
  });
}

/** A GET on a connection of its own (fetch would reuse one), resolving with the status; from `localAddress` if given. */
function getOnNewConnection(url: string, localAddress?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { agent: false, ...(localAddress ? { localAddress } : {}) }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    }).on("error", reject);
  });
}

/**
 * A task of `userId` created through the server, and a second session
 * holding a lock on its row: a write to it waits until `locker` commits.
 */
async function holdLockedTask(baseUrl: string, databaseUrl: string, userId: string) {
  const token = await mintToken(userId);
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const created = await fetch(`${baseUrl}/api/${userId}/tasks`, {
    method: "POST",
    headers,
    body: JSON.stringify({ title: "held" }),
  });
  const { data } = (await created.json()) as { data: { id: string } };
  const locker = new pg.Client({ connectionString: databaseUrl });
  await locker.connect();
  await locker.query("BEGIN");
  await locker.query("SELECT 1 FROM tasks WHERE id = $1 FOR UPDATE", [data.id]);
  return { id: data.id, headers, locker };
}

/** The real process: `npm start`'s entry point, on a real port. */
describe("the server process", () => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "tasks-api-server-"));
    const candidate = await createTestDatabase();
    if (candidate.url === undefined) {
      await candidate.drop();
      // A file-backed embedded database, as `npm start` uses, in a scratch folder.
      env = { PGLITE_DATA_DIR: path.join(dataDir, "pglite") };
    } else {
      database = candidate;
      env = { DATABASE_URL: candidate.url };
    }
  });
  afterAll(async () => {
    killAllServers();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts, is ready, and on SIGTERM stops accepting, closes the database and exits 0", async () => {
    const server = await startServer(env);
    // Migrations run once the port is open; ready after them.
    await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    // One line per request, with what an operator needs.
    const line = await server.waitForLog((entry) => entry.path === "/readyz");
    expect(line).toMatchObject({ method: "GET", status: 200, level: 30 });
    expect(line.ms).toEqual(expect.any(Number));
    expect(line.requestId).toEqual(expect.any(String));

    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.logs.map((entry) => entry.msg)).toContain("stopped");
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("a second start finds the migrations applied and its data still there", async () => {
    const server = await startServer(env);
    try {
      const migrations = await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
      expect(migrations.msg).toBe("migrations: up to date");
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop("SIGINT")).toBe(0);
    }
  });

  it("starts with the database unreachable: stays up and not ready, then ready once the database appears", async () => {
    const port = await freePort();
    const target = database?.url ? new URL(database.url) : undefined;
    const url = `postgres://postgres@127.0.0.1:${port}/${target?.pathname.slice(1) ?? "nowhere"}`;
    const server = await startServer({ DATABASE_URL: url, DATABASE_CONNECT_TIMEOUT_MS: "500" });
    let forwarder: Server | undefined;
    try {
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: "not_ready", database: "unreachable" });
      const api = await fetch(`${server.url}/api/someone/tasks`);
      expect(api.status).toBe(503);
      expect(api.headers.get("retry-after")).toBe("5");
      await server.waitForLog((entry) => String(entry.msg).startsWith("database unreachable"));
      // Not ready while starting is normal: a warning, never an error an operator is paged for.
      const notReady = await server.waitForLog((entry) => entry.path === "/readyz");
      expect(notReady).toMatchObject({ status: 503, level: 40 });
      if (target === undefined) {
        console.info("PGlite run: no database server to bring up; the recovery half runs on PostgreSQL.");
        return;
      }
      // The database appears on that port: the retrying migrations find it.
      forwarder = await forward(port, Number(target.port || 5432));
      // Ready means the APIs serve: the moment /readyz says 200, /api answers (401 without a token), not 503.
      await expect
        .poll(async () => (await fetch(`${server.url}/readyz`)).status, { timeout: 30_000, interval: 50 })
        .toBe(200);
      expect((await fetch(`${server.url}/api/someone/tasks`)).status).toBe(401);
      await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"), 30_000);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
      forwarder?.close();
    }
  });

  it("on SIGTERM turns not ready first, finishes a slow request, then exits 0", async (context) => {
    if (database?.url === undefined) {
      console.info("PGlite run: a request cannot be held open from outside an embedded database; runs on PostgreSQL.");
      context.skip();
      return;
    }
    const url = database.url;
    const server = await startServer({ ...env, SHUTDOWN_DELAY_MS: "1500", AUTH_SECRET: testSecret });
    await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
    // Another session locks the row, so the update below waits for it.
    const { id, headers, locker } = await holdLockedTask(server.url, url, "slow-user");
    try {
      const slow = fetch(`${server.url}/api/slow-user/tasks/${id}`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ title: "finished after SIGTERM" }),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = server.stop("SIGTERM");
      await server.waitForLog((entry) => String(entry.msg).startsWith("shutting down"));
      // Still accepting during the delay, but no longer ready.
      expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
      await locker.query("COMMIT");
      const res = await slow;
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ data: { title: "finished after SIGTERM", version: 2 } });
      expect(await exited).toBe(0);
    } finally {
      await locker.end();
    }
  });

  it("drains keep-alive clients writing through SIGTERM: each write acknowledged is stored, none is cut", async () => {
    const server = await startServer({
      ...env,
      SHUTDOWN_DELAY_MS: "1000",
      SHUTDOWN_GRACE_MS: "10000",
      AUTH_SECRET: testSecret,
    });
    await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
    const user = "keepalive-user";
    const token = await mintToken(user);
    const url = `${server.url}/api/${user}/tasks`;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const acknowledged: string[] = [];
    const outcomes: { title: string; outcome: string; connection?: string | undefined; sentAt: number }[] = [];
    let stopAt = Number.POSITIVE_INFINITY;
    let n = 0;
    // Six clients write until the listener refuses them (or 5 s after SIGTERM).
    const client = async () => {
      while (Date.now() < stopAt) {
        const title = `keep-alive ${n++}`;
        const sentAt = Date.now();
        const result = await postOn(agent, url, token, { title });
        outcomes.push({
          title,
          outcome: result.error ?? String(result.status),
          connection: result.connection,
          sentAt,
        });
        if (result.status === 201) acknowledged.push(title);
        if (result.error === "ECONNREFUSED") return;
        // A pause between writes, as real clients make: connections sit idle in the pool.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 40));
      }
    };
    const clients = Array.from({ length: 6 }, client);
    // Some writes before the signal, however slow the machine is.
    await expect.poll(() => acknowledged.length, { timeout: 20_000, interval: 50 }).toBeGreaterThan(10);
    const exited = server.stop("SIGTERM");
    stopAt = Date.now() + 5_000;
    // When the process began draining, by its own clock (the same machine's).
    const draining = Number((await server.waitForLog((entry) => String(entry.msg).startsWith("shutting down"))).time);
    await Promise.all(clients);
    agent.destroy();
    expect(await exited).toBe(0);

    // While draining, answers close their connections, so nothing is in flight at the deadline: every
    // write is either acknowledged and stored, or never reached the service (its connection was refused,
    // or reset in the listener's queue as it closed). No write is stored without its acknowledgement.
    expect(acknowledged.length).toBeGreaterThan(10);
    const stored = await storedTitles(user);
    expect([...stored].sort()).toEqual([...acknowledged].sort());
    const other = outcomes.filter(({ outcome }) => !["201", "ECONNREFUSED", "ECONNRESET"].includes(outcome));
    expect(other).toEqual([]);
    // Answers to requests sent once draining had begun tell keep-alive clients to move on.
    const whileDraining = outcomes.filter(({ outcome, sentAt }) => outcome === "201" && sentAt > draining);
    expect(whileDraining.length).toBeGreaterThan(0);
    expect(whileDraining.filter(({ connection }) => connection !== "close")).toEqual([]);
    const resets = outcomes.filter(({ outcome }) => outcome === "ECONNRESET");
    expect(resets.filter(({ title }) => stored.includes(title))).toEqual([]);
  });

  /** The titles of a user's tasks, read straight from the database the server used (after it stopped). */
  async function storedTitles(user: string): Promise<string[]> {
    if (database?.url !== undefined) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ title: string }>("SELECT title FROM tasks WHERE user_id = $1", [user]);
        return rows.map((row) => row.title);
      } finally {
        await client.end();
      }
    }
    const pglite = await PGlite.create(env.PGLITE_DATA_DIR ?? "");
    try {
      const { rows } = await pglite.query<{ title: string }>("SELECT title FROM tasks WHERE user_id = $1", [user]);
      return rows.map((row) => row.title);
    } finally {
      await pglite.close();
    }
  }

  it("after the grace period cuts connections, waits for their handlers before closing the database", async (context) => {
    if (database?.url === undefined) {
      console.info("PGlite run: a request cannot be held open from outside an embedded database; runs on PostgreSQL.");
      context.skip();
      return;
    }
    const server = await startServer({
      ...env,
      SHUTDOWN_GRACE_MS: "200",
      DATABASE_POOL_MAX: "1",
      AUTH_SECRET: testSecret,
      LOG_LEVEL: "info",
    });
    await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
    const { id, headers, locker } = await holdLockedTask(server.url, database.url, "cut-user");
    try {
      // The update waits for the lock on the only pooled connection; the list waits for that connection.
      const update = fetch(`${server.url}/api/cut-user/tasks/${id}`, {
        method: "PUT",
        headers,
        body: JSON.stringify({ title: "finished after the cut" }),
      }).catch((error: unknown) => error);
      const list = fetch(`${server.url}/api/cut-user/tasks`, { headers }).catch((error: unknown) => error);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const exited = server.stop("SIGTERM");
      await server.waitForLog((entry) => String(entry.msg).includes("grace period over"));
      // The clients are gone; their handlers are not.
      expect(await update).toBeInstanceOf(Error);
      expect(await list).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await locker.query("COMMIT");
      expect(await exited).toBe(0);
    } finally {
      await locker.end();
    }
    const handled = server.logs.filter((entry) => typeof entry.status === "number");
    expect(handled.map((entry) => `${entry.method} ${entry.status}`)).toEqual(
      expect.arrayContaining(["PUT 200", "GET 200"]),
    );
    expect(server.logs.filter((entry) => Number(entry.level) >= 50)).toEqual([]);
    const stopped = server.logs.findIndex((entry) => entry.msg === "stopped");
    expect(stopped).toBeGreaterThan(server.logs.findIndex((entry) => entry.method === "PUT" && entry.status === 200));
    const check = new pg.Client({ connectionString: database.url });
    await check.connect();
    try {
      const { rows } = await check.query("SELECT title FROM tasks WHERE id = $1", [id]);
      expect(rows).toEqual([{ title: "finished after the cut" }]);
    } finally {
      await check.end();
    }
  });

  it("answers oversized headers with a fast 431, and keeps serving", async () => {
    const server = await startServer(env);
    try {
      await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
      const huge = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers: { authorization: `Bearer ${"a".repeat(64 * 1024)}`, "content-type": "application/json" },
        body: "{}",
      });
      expect(huge.status).toBe(431);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
  });

  it("caps bodies on a real socket: 413 by Content-Length or while a chunked body arrives, and reads bodies within it", async () => {
    const server = await startServer({ ...env, MAX_BODY_BYTES: "1024", AUTH_SECRET: testSecret });
    try {
      await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
      const token = await mintToken("body-user");
      const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
      const tooLarge = { error: { code: "PAYLOAD_TOO_LARGE", message: "The request body is larger than 1024 bytes." } };
      const big = JSON.stringify({ title: "x".repeat(2000) });

      // A string body goes out with its Content-Length.
      const declared = await fetch(`${server.url}/api/body-user/tasks`, { method: "POST", headers, body: big });
      expect(declared.status).toBe(413);
      expect(await declared.json()).toEqual(tooLarge);
      // A stream body goes out chunked, with no length to judge it by.
      const chunked = await fetch(`${server.url}/api/body-user/tasks`, {
        method: "POST",
        headers,
        body: new Blob([big]).stream(),
        duplex: "half",
      } as RequestInit);
      expect(chunked.status).toBe(413);
      expect(await chunked.json()).toEqual(tooLarge);

      // Within the cap, either way, the body is read whole.
      const description = "y".repeat(900);
      const created = await fetch(`${server.url}/api/body-user/tasks`, {
        method: "POST",
        headers,
        body: JSON.stringify({ title: "near the cap", description }),
      });
      expect(created.status).toBe(201);
      const streamed = await fetch(`${server.url}/graphql`, {
        method: "POST",
        headers,
        body: new Blob([JSON.stringify({ query: "{ tasks { totalCount edges { node { description } } } }" })]).stream(),
        duplex: "half",
      } as RequestInit);
      expect(await streamed.json()).toEqual({ data: { tasks: { totalCount: 1, edges: [{ node: { description } }] } } });

      // The boundary itself: exactly MAX_BODY_BYTES is read, one byte more is refused, either way.
      const bodyOf = (bytes: number) => {
        const frame = JSON.stringify({ title: "at the cap", description: "" });
        return JSON.stringify({ title: "at the cap", description: "z".repeat(bytes - frame.length) });
      };
      for (const streaming of [false, true]) {
        const send = (body: string) =>
          fetch(`${server.url}/api/body-user/tasks`, {
            method: "POST",
            headers,
            ...(streaming ? { body: new Blob([body]).stream(), duplex: "half" } : { body }),
          } as RequestInit);
        const atCap = bodyOf(1024);
        expect(Buffer.byteLength(atCap)).toBe(1024);
        expect((await send(atCap)).status, `exactly 1024 bytes, ${streaming ? "chunked" : "with Content-Length"}`).toBe(
          201,
        );
        const over = await send(bodyOf(1025));
        expect(over.status, `1025 bytes, ${streaming ? "chunked" : "with Content-Length"}`).toBe(413);
        expect(await over.json()).toEqual(tooLarge);
      }
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
  });

  it("counts the per-address rate limit by each client's own address", async () => {
    const server = await startServer({ ...env, RATE_LIMIT_IP: "2" });
    try {
      await server.waitForLog((entry) => String(entry.msg).startsWith("migrations:"));
      const url = `${server.url}/api/someone/tasks`;
      const first = [];
      for (let i = 0; i < 3; i++) first.push(await getOnNewConnection(url, "127.0.0.1"));
      // No token: 401 while within the limit, then 429 for this address only.
      expect(first).toEqual([401, 401, 429]);
      expect(await getOnNewConnection(url, "127.0.0.2")).toBe(401);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
  });

  it("with WEB_CONCURRENCY=2 runs two workers on one port, replaces one that dies, and drains both on SIGTERM", async (context) => {
    if (database?.url === undefined) {
      console.info("PGlite run: the embedded database is one process's, so workers need PostgreSQL (config refuses).");
      context.skip();
      return;
    }
    const server = await startServer({ ...env, WEB_CONCURRENCY: "2", AUTH_SECRET: testSecret, LOG_LEVEL: "info" });
    try {
      const listening = () => server.logs.filter((entry) => String(entry.msg).startsWith("tasks-api listening"));
      await server.waitForLog(() => listening().length >= 2, 60_000);
      expect(new Set(listening().map((entry) => entry.worker))).toEqual(new Set([1, 2]));

      const statuses = [];
      for (let i = 0; i < 8; i++) statuses.push(await getOnNewConnection(`${server.url}/healthz`));
      expect(statuses).toEqual(Array(8).fill(200));
      const served = server.logs.filter((entry) => entry.path === "/healthz").map((entry) => entry.worker);
      expect(new Set(served)).toEqual(new Set([1, 2]));

      // A worker that dies is replaced; the other goes on serving meanwhile.
      // (Its pid comes from its own log lines: the primary may have other
      // children, such as tsx's esbuild service on a cold cache.)
      const pids = listening().map((entry) => Number(entry.pid));
      expect(new Set(pids).size).toBe(2);
      const children = execFileSync("ps", ["-o", "pid=", "--ppid", String(server.child.pid)], { encoding: "utf8" })
        .split("\n")
        .map((line) => Number(line.trim()));
      for (const pid of pids) expect(children).toContain(pid);
      process.kill(pids[0] ?? 0, "SIGKILL");
      await server.waitForLog((entry) => entry.msg === "a worker exited; starting another");
      expect(await getOnNewConnection(`${server.url}/healthz`)).toBe(200);
      await server.waitForLog(() => listening().length >= 3, 60_000);
      expect(listening().at(-1)?.worker).toBe(3);
    } finally {
      expect(await server.stop("SIGTERM")).toBe(0);
    }
    const stopped = server.logs.filter((entry) => entry.msg === "stopped").map((entry) => entry.worker);
    expect(stopped).toHaveLength(2);
    expect(server.logs.map((entry) => entry.msg)).toContain("all workers stopped");
    expect(
      server.logs.filter((entry) => Number(entry.level) >= 50 && entry.msg !== "a worker exited; starting another"),
    ).toEqual([]);
  });

  it("refuses to start with a wrong setting, naming it", async () => {
    await expect(startServer({ ...env, PORT: "not-a-port" })).rejects.toThrow(/PORT="not-a-port"/);
  });
});
