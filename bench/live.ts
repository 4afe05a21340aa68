/**
 * npm run bench:live (also the last part of npm run bench)
 *
 * Live updates under load: LIVE_SUBSCRIBERS (default 1000) SSE subscribers
 * of `taskEvents`, spread over LIVE_USERS users (100) and two service
 * processes sharing a scratch PostgreSQL database and Redis, while a writer
 * creates tasks at LIVE_RATE writes/s (100) for LIVE_SECONDS (20), each on
 * one of the two processes in turn, for a random one of the users.
 *
 * Reported: commit-to-delivery latency (the event's arrival at the
 * subscriber minus its `occurredAt`, the database clock of its transaction
 * on this same machine, at millisecond precision) p50/p95/p99/max over every
 * delivery; whether every subscriber received every event of its user
 * exactly once, in cursor order; and the service's RSS per idle subscriber
 * (RSS with the subscribers open and idle, minus before, per process).
 *
 * LIVE_REDIS=0 runs the same without Redis (PostgreSQL LISTEN/NOTIFY).
 * BENCH_DATABASE_URL and REDIS_URL as for npm run bench.
 */
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { childEnv, freePort, type ServerProcess, startServer } from "./lib/processes.js";
import { peakRssMb, rssMb } from "./lib/procfs.js";
import { createScratch, migrate } from "./lib/scratch-db.js";
import { summarize } from "./lib/stats.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const int = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const subscriberCount = int("LIVE_SUBSCRIBERS", 1000);
const userCount = int("LIVE_USERS", 100);
const rate = int("LIVE_RATE", 100);
const seconds = int("LIVE_SECONDS", 20);
const withRedis = process.env.LIVE_REDIS !== "0";
const adminUrl = process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const secret = "bench-secret-that-is-at-least-32-bytes-long";

interface Subscriber {
  user: string;
  cursors: string[];
  latencies: number[];
  close(): void;
}

async function subscribe(server: ServerProcess, user: string, token: string, opened: () => void): Promise<Subscriber> {
  const abort = new AbortController();
  const response = await fetch(`${server.baseUrl}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ query: "subscription { taskEvents { cursor occurredAt } }" }),
    signal: abort.signal,
  });
  if (response.status !== 200 || !response.body) throw new Error(`subscribe: ${response.status}`);
  const subscriber: Subscriber = { user, cursors: [], latencies: [], close: () => abort.abort() };
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  void (async () => {
    let buffer = "";
    let first = true;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const now = Date.now();
        if (first) {
          first = false;
          opened();
        }
        buffer += decoder.decode(value, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          end = buffer.indexOf("\n\n");
          const data = block.split("\n").find((line) => line.startsWith("data: "));
          if (!block.includes("event: next") || !data) continue;
          const event = (JSON.parse(data.slice(6)) as { data: { taskEvents: { cursor: string; occurredAt: string } } })
            .data.taskEvents;
          subscriber.cursors.push(event.cursor);
          subscriber.latencies.push(now - Date.parse(event.occurredAt));
        }
      }
    } catch {
      // Closed.
    }
  })();
  return subscriber;
}

const token = (sub: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(secret));

async function main(): Promise<void> {
  const scratch = await createScratch(adminUrl);
  const logDir = await mkdtemp(path.join(os.tmpdir(), "tasks-live-bench-"));
  const servers: ServerProcess[] = [];
  try {
    await migrate(scratch.url);
    for (const name of ["live-a", "live-b"]) {
      const port = await freePort();
      servers.push(
        await startServer({
          name,
          cwd: root,
          args: ["--import", "tsx", "src/main.ts"],
          env: childEnv({
            NODE_ENV: "production",
            LOG_LEVEL: "info",
            PORT: String(port),
            HOST: "127.0.0.1",
            DATABASE_URL: scratch.url,
            MIGRATE_ON_START: "false",
            AUTH_SECRET: secret,
            RATE_LIMIT_IP: "0",
            RATE_LIMIT_USER: "0",
            SHUTDOWN_DELAY_MS: "0",
            LIVE_MAX_STREAMS_PER_USER: String(Math.ceil(subscriberCount / userCount) + 1),
            ...(withRedis ? { REDIS_URL: redisUrl } : {}),
          }),
          port,
          readyPath: "/readyz",
          logDir,
        }),
      );
    }
    const users = Array.from({ length: userCount }, (_, i) => `live-bench-${i}`);
    const tokens = new Map(await Promise.all(users.map(async (user) => [user, await token(user)] as const)));
    // Each user's row exists before anyone subscribes.
    for (const user of users) {
      await fetch(`${servers[0]?.baseUrl}/graphql`, {
        method: "POST",
        headers: { authorization: `Bearer ${tokens.get(user)}`, "content-type": "application/json" },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
    }
    const before = servers.map((server) => rssMb(server.pid));

    let opened = 0;
    const subscribers: Subscriber[] = [];
    for (let i = 0; i < subscriberCount; i++) {
      const user = users[i % userCount] as string;
      const server = servers[i % 2] as ServerProcess;
      subscribers.push(await subscribe(server, user, tokens.get(user) ?? "", () => opened++));
    }
    while (opened < subscriberCount) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const idle = servers.map((server) => rssMb(server.pid));
    const perSubscriberKb = idle.map((mb, i) => ((mb - (before[i] ?? mb)) * 1024) / (subscriberCount / 2));

    // The writer: `rate` creates per second, alternating processes, paced by the clock.
    const writes = rate * seconds;
    const written = new Map<string, number>();
    const started = Date.now();
    const pending: Promise<void>[] = [];
    for (let i = 0; i < writes; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const user = users[Math.floor(Math.random() * userCount)] as string;
      const server = servers[i % 2] as ServerProcess;
      written.set(user, (written.get(user) ?? 0) + 1);
      pending.push(
        fetch(`${server.baseUrl}/graphql`, {
          method: "POST",
          headers: { authorization: `Bearer ${tokens.get(user)}`, "content-type": "application/json" },
          body: JSON.stringify({ query: `mutation { createTask(input: { title: "live ${i}" }) { id } }` }),
        }).then(async (response) => {
          if (response.status !== 200) throw new Error(`write: ${response.status} ${await response.text()}`);
        }),
      );
    }
    await Promise.all(pending);
    const achieved = writes / ((Date.now() - started) / 1000);
    // Let the last deliveries arrive (at most a poll interval and then some).
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const peak = servers.map((server) => peakRssMb(server.pid));

    let complete = 0;
    const latencies: number[] = [];
    for (const subscriber of subscribers) {
      latencies.push(...subscriber.latencies);
      const expected = written.get(subscriber.user) ?? 0;
      const inOrder = subscriber.cursors.every(
        (cursor, i) => i === 0 || BigInt(cursor) > BigInt(subscriber.cursors[i - 1] ?? 0),
      );
      if (subscriber.cursors.length === expected && inOrder) complete++;
      subscriber.close();
    }
    const summary = summarize(latencies);
    const result = {
      date: new Date().toISOString(),
      machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "?"}`,
      transport: withRedis ? "Redis pub/sub" : "PostgreSQL LISTEN/NOTIFY",
      subscribers: subscriberCount,
      users: userCount,
      processes: 2,
      writesPerSecond: { target: rate, achieved: Math.round(achieved) },
      deliveries: latencies.length,
      latencyMs: summary,
      subscribersComplete: `${complete}/${subscriberCount}`,
      rssMb: { before, idleWithSubscribers: idle, peak },
      idleKbPerSubscriber: perSubscriberKb.map((kb) => Math.round(kb)),
    };
    console.log(JSON.stringify(result, null, 2));
    await writeFile(
      path.join(root, "bench/results", `live-${result.date.slice(0, 10)}.json`),
      `${JSON.stringify(result, null, 2)}\n`,
    );
    if (complete !== subscriberCount) {
      throw new Error(
        `only ${complete} of ${subscriberCount} subscribers received every event of their user, in order`,
      );
    }
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await scratch.drop();
  }
}

await main();
