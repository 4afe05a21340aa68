import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LiveStream, subscribeSse, subscribeWs } from "./helpers/live.js";
import { startTcpProxy, type TcpProxy } from "./helpers/net/tcp-proxy.js";
import { CreateTask, TaskChanges, ToggleTaskCompleted, UpdateTask } from "./helpers/operations.js";
import { admin, withDatabase } from "./helpers/postgres.js";
import { killAllServers, type RunningServer, startServer, waitReady } from "./helpers/server.js";
import { postgresAnswers, redisAnswers, serviceAvailable } from "./helpers/services.js";
import { mintToken, testSecret } from "./helpers/tokens.js";

/**
 * Live updates across real processes sharing PostgreSQL (and Redis): an
 * event written on one reaches a subscriber on the other, over Redis
 * pub/sub, over LISTEN/NOTIFY without Redis, and through the change log's
 * poll when the bell fails; and a model run with concurrent writers on two
 * processes and subscribers that drop and resume at their cursors.
 */

const postgresUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const available =
  serviceAvailable("PostgreSQL", await postgresAnswers(postgresUrl), postgresUrl) &&
  serviceAvailable("Redis", await redisAnswers(redisUrl), redisUrl);

/** A new database on the server, dropped afterwards: the processes of one test share it. */
async function freshDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tasks_api_live_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await admin(postgresUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  return {
    url: withDatabase(postgresUrl, name),
    drop: () =>
      admin(postgresUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => {}),
  };
}

const baseEnv = {
  AUTH_SECRET: testSecret,
  RATE_LIMIT_IP: "0",
  RATE_LIMIT_USER: "0",
  // info: the helper waits for the "listening on" line.
  LOG_LEVEL: "info",
  NODE_ENV: "test",
};

/** Two server processes on one database: the first migrates, the second starts once it has. */
async function twoServers(env: Record<string, string>): Promise<[RunningServer, RunningServer]> {
  const first = await startServer({ ...baseEnv, ...env });
  await waitReady(first);
  const second = await startServer({ ...baseEnv, ...env, MIGRATE_ON_START: "false" });
  await waitReady(second);
  return [first, second];
}

async function graphql<T>(
  server: RunningServer,
  token: string,
  document: { toString(): string },
  variables: object,
): Promise<T> {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const body = (await response.json()) as { data?: T; errors?: unknown[] };
  if (body.errors || !body.data) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

const sseOn = (server: RunningServer) => (path: string, init: RequestInit) => fetch(`${server.url}${path}`, init);

async function user(name: string) {
  const id = `live-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

async function createTitled(server: RunningServer, token: string, title: string) {
  return (
    await graphql<{ createTask: { id: string; version: number } }>(server, token, CreateTask, { input: { title } })
  ).createTask;
}

afterAll(() => killAllServers());

describe.runIf(available)("across two processes with Redis", () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let a: RunningServer;
  let b: RunningServer;
  let redis: TcpProxy;
  beforeAll(async () => {
    database = await freshDatabase();
    // Through a proxy, so that a test can take Redis away from both processes.
    redis = await startTcpProxy(redisUrl);
    [a, b] = await twoServers({ DATABASE_URL: database.url, REDIS_URL: redis.url, LIVE_POLL_MS: "300" });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await redis?.close();
    await database?.drop();
  });

  it("delivers a write on one process to SSE and WebSocket subscribers on the other", async () => {
    const alice = await user("alice");
    const sse = await subscribeSse(sseOn(b), alice.token);
    const ws = await subscribeWs(b.url, alice.token);
    try {
      // Both streams are open before the write (each receives a first event).
      const warmup = await createTitled(a, alice.token, "warm-up");
      for (const stream of [sse, ws]) expect((await stream.take(1))[0]?.taskId).toBe(warmup.id);
      const created = await createTitled(a, alice.token, "from A");
      const restUpdate = await fetch(`${a.url}/api/${alice.id}/tasks/${created.id}/complete`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${alice.token}` },
      });
      expect(restUpdate.status).toBe(200);
      for (const stream of [sse, ws]) {
        const events = await stream.take(2);
        expect(events.map((event) => [event.kind, event.taskId, event.version, event.task?.isCompleted])).toEqual([
          ["CREATED", created.id, 1, false],
          ["UPDATED", created.id, 2, true],
        ]);
      }
    } finally {
      sse.close();
      ws.close();
    }
  });

  it("still delivers every event, through the change log's poll, while Redis is gone", async () => {
    const bea = await user("bea");
    const stream = await subscribeSse(sseOn(b), bea.token);
    try {
      const first = await createTitled(a, bea.token, "with Redis");
      expect((await stream.take(1))[0]?.taskId).toBe(first.id);
      await redis.refuse("reset");
      redis.drop("reset");
      const started = Date.now();
      const during = await createTitled(a, bea.token, "without Redis");
      const [event] = await stream.take(1, 15_000);
      expect(event?.taskId).toBe(during.id);
      console.info(
        `live: with Redis gone, an event reached the other process in ${Date.now() - started} ms (poll 300 ms)`,
      );
    } finally {
      stream.close();
      await redis.pass();
    }
  });

  it("model: concurrent writers on both processes, subscribers that drop and resume, each sees the log exactly", async () => {
    const carol = await user("carol");
    const other = await user("other");
    const servers = [a, b];
    const rand = seeded(Number(process.env.MODEL_SEED ?? Date.now()));
    const written: { taskId: string; version: number; kind: string }[] = [];
    const ids: string[] = [];

    async function writer(server: RunningServer, steps: number) {
      for (let step = 0; step < steps; step++) {
        const choice = rand();
        const id = ids.length > 0 ? ids[Math.floor(rand() * ids.length)] : undefined;
        try {
          if (choice < 0.35 || id === undefined) {
            const task = await createTitled(server, carol.token, `t${step}`);
            ids.push(task.id);
            written.push({ taskId: task.id, version: 1, kind: "CREATED" });
          } else if (choice < 0.6) {
            const { toggleTaskCompleted } = await graphql<{ toggleTaskCompleted: { version: number } }>(
              server,
              carol.token,
              ToggleTaskCompleted,
              { id },
            );
            written.push({ taskId: id, version: toggleTaskCompleted.version, kind: "UPDATED" });
          } else if (choice < 0.85) {
            const { updateTask } = await graphql<{ updateTask: { version: number } }>(server, carol.token, UpdateTask, {
              id,
              input: { title: `renamed ${step}` },
            });
            written.push({ taskId: id, version: updateTask.version, kind: "UPDATED" });
          } else {
            const response = await fetch(`${server.url}/api/${carol.id}/tasks/${id}`, {
              method: "DELETE",
              headers: { authorization: `Bearer ${carol.token}` },
            });
            if (response.status === 204) {
              ids.splice(ids.indexOf(id), 1);
              // The tombstone carries the version the task had; read back from the log below.
              written.push({ taskId: id, version: -1, kind: "DELETED" });
            }
          }
        } catch (error) {
          // A concurrent delete of the same task: NOT_FOUND, nothing written.
          if (!String(error).includes("NOT_FOUND")) throw error;
        }
      }
    }

    let writing = true;
    async function subscriber(index: number): Promise<string[]> {
      const seen: string[] = [];
      let cursor = "0";
      while (writing || cursor !== (await headOf())) {
        const server = servers[Math.floor(rand() * 2)] as RunningServer;
        const stream: LiveStream =
          rand() < 0.5
            ? await subscribeSse(sseOn(server), carol.token, { after: cursor })
            : await subscribeWs(server.url, carol.token, { after: cursor });
        try {
          const want = 1 + Math.floor(rand() * 6);
          for (let i = 0; i < want; i++) {
            const message = await stream.next(writing ? 3_000 : 1_500).catch(() => undefined);
            if (!message) break;
            if (!message.data) throw new Error(`subscriber ${index}: ${JSON.stringify(message)}`);
            seen.push(message.data.taskEvents.cursor);
            cursor = message.data.taskEvents.cursor;
          }
        } finally {
          stream.close();
        }
      }
      return seen;
    }

    async function headOf(): Promise<string> {
      const log = await readLog(a, carol.token);
      return log.at(-1)?.cursor ?? "0";
    }

    const bystander = await subscribeSse(sseOn(a), other.token);
    const subscribers = [0, 1, 2].map((index) => subscriber(index));
    await Promise.all([writer(a, 25), writer(a, 25), writer(b, 25), writer(b, 25)]);
    writing = false;
    const views = await Promise.all(subscribers);

    const log = await readLog(b, carol.token);
    // Every write that succeeded is in the log once, and nothing else is.
    const key = (entry: { taskId: string; version: number; kind: string }) =>
      `${entry.kind} ${entry.taskId} ${entry.kind === "DELETED" ? "" : entry.version}`;
    expect(log.map(key).sort()).toEqual(written.map(key).sort());
    // Per task, versions in cursor order are 1, 2, 3... and a deletion carries the last one.
    const versions = new Map<string, number>();
    for (const event of log) {
      const last = versions.get(event.taskId) ?? 0;
      expect(event.version).toBe(event.kind === "DELETED" ? last : last + 1);
      versions.set(event.taskId, event.version);
    }
    // Each subscriber, across its reconnections, saw exactly the log: no gap, no repeat.
    for (const view of views) expect(view).toEqual(log.map((event) => event.cursor));
    expect(await bystander.quiet(500)).toBe(true);
    bystander.close();
  }, 180_000);
});

describe.runIf(available)("across two processes without Redis (PostgreSQL LISTEN/NOTIFY)", () => {
  let database: Awaited<ReturnType<typeof freshDatabase>>;
  let a: RunningServer;
  let b: RunningServer;
  beforeAll(async () => {
    database = await freshDatabase();
    // The poll is a minute here: what arrives at once came by NOTIFY.
    [a, b] = await twoServers({ DATABASE_URL: database.url, LIVE_POLL_MS: "60000" });
  }, 90_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
  });

  it("delivers a write on one process to a subscriber on the other", async () => {
    const dan = await user("dan");
    const stream = await subscribeWs(b.url, dan.token);
    try {
      // The subscription is registered once it has seen a first event; NOTIFY needs no poll.
      const first = await createTitled(a, dan.token, "one");
      expect((await stream.take(1, 5_000))[0]?.taskId).toBe(first.id);
      const second = await createTitled(a, dan.token, "two");
      expect((await stream.take(1, 5_000))[0]?.taskId).toBe(second.id);
    } finally {
      stream.close();
    }
  });
});

/** The whole change log of a user, paged. */
async function readLog(server: RunningServer, token: string) {
  type Page = {
    taskChanges: {
      events: { cursor: string; kind: string; taskId: string; version: number }[];
      endCursor: string;
      hasMore: boolean;
    };
  };
  const events: Page["taskChanges"]["events"] = [];
  let after = "0";
  for (;;) {
    const { taskChanges } = await graphql<Page>(server, token, TaskChanges, { after, first: 500 });
    events.push(...taskChanges.events);
    after = taskChanges.endCursor;
    if (!taskChanges.hasMore) return events;
  }
}

/** A small seeded generator (mulberry32): the same seed, the same run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
