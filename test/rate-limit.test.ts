import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { createTestDatabase, type TestDatabase } from "./helpers/database.js";
import { within } from "./helpers/hangs.js";
import { startTcpProxy } from "./helpers/net/tcp-proxy.js";
import { rest } from "./helpers/rest.js";
import { redisAnswers, serviceAvailable } from "./helpers/services.js";
import { bearer, mintToken } from "./helpers/tokens.js";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

const viewerQuery = (t: TestApp, token: string) =>
  t.request("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...bearer(token) },
    body: JSON.stringify({ query: "{ viewer { id } }" }),
  });

describe("rate limits in one instance", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMIT_USER: "3", RATE_LIMIT_IP: "0" });
  });
  afterAll(() => t.close());

  it("gives a user 429 with Retry-After past their limit, on GraphQL and REST alike, and others are unaffected", async () => {
    const alice = `alice-${randomUUID()}`;
    const bob = `bob-${randomUUID()}`;
    const aliceToken = await mintToken(alice);
    for (let i = 0; i < 3; i++) expect((await viewerQuery(t, aliceToken)).status).toBe(200);

    const limited = await viewerQuery(t, aliceToken);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await limited.json()).toMatchObject({ errors: [{ extensions: { code: "RATE_LIMITED" } }] });

    const viaRest = await rest(t, "GET", `/api/${alice}/tasks`, { token: aliceToken });
    expect(viaRest.status).toBe(429);
    expect(viaRest.body).toMatchObject({ error: { code: "RATE_LIMITED" } });

    // One user's burst does not spend another's share.
    expect((await viewerQuery(t, await mintToken(bob))).status).toBe(200);
  });

  it("limits by client address before authentication, so bad tokens are refused cheaply", async () => {
    const strict = await startTestApp({ RATE_LIMIT_IP: "3", RATE_LIMIT_USER: "0" });
    try {
      for (let i = 0; i < 3; i++) expect((await viewerQuery(strict, "not-a-token")).status).toBe(401);
      strict.queries.length = 0;
      const limited = await viewerQuery(strict, "not-a-token");
      expect(limited.status).toBe(429);
      expect(limited.headers.get("retry-after")).not.toBeNull();
      const viaRest = await rest(strict, "GET", "/api/anyone/tasks", { token: "not-a-token" });
      expect(viaRest.status).toBe(429);
      expect(strict.queries).toEqual([]);
    } finally {
      await strict.close();
    }
  });

  it("counts in this instance when Redis cannot be reached: served within the limit, 429 past it, never a 5xx", async () => {
    const open = await startTestApp({ RATE_LIMIT_USER: "2", REDIS_URL: "redis://127.0.0.1:1" });
    try {
      const token = await mintToken(`carol-${randomUUID()}`);
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await viewerQuery(open, token)).status);
      expect(statuses).toEqual([200, 200, 429, 429]);
    } finally {
      await open.close();
    }
  });
});

describe("rate limits shared through Redis by two instances", async () => {
  const available = serviceAvailable("Redis", await redisAnswers(redisUrl), redisUrl);
  let database: TestDatabase;
  let first: TestApp;
  let second: TestApp;
  beforeAll(async () => {
    if (!available) return;
    database = await createTestDatabase();
    const env = { RATE_LIMIT_USER: "4", RATE_LIMIT_IP: "0", REDIS_URL: redisUrl };
    first = await startTestApp(env, database);
    second = await startTestApp(env, database);
  });
  afterAll(async () => {
    if (!available) return;
    await first.close();
    await second.close();
    await database.drop();
  });

  it.runIf(available)("enforces one limit across instances", async () => {
    const token = await mintToken(`dana-${randomUUID()}`);
    expect((await viewerQuery(first, token)).status).toBe(200);
    expect((await viewerQuery(second, token)).status).toBe(200);
    expect((await viewerQuery(first, token)).status).toBe(200);
    expect((await viewerQuery(second, token)).status).toBe(200);
    // The fifth request, on either instance, is over the shared limit of 4.
    expect((await viewerQuery(first, token)).status).toBe(429);
    expect((await viewerQuery(second, token)).status).toBe(429);
  });
});

/** A free loopback port, for a server that cannot be told to pick one. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("a Redis that does not answer", () => {
  it("accepting connections and never replying: requests are served, not held", async () => {
    const silent = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as AddressInfo;
    const t = await startTestApp({ RATE_LIMIT_USER: "1000", REDIS_URL: `redis://127.0.0.1:${port}` });
    try {
      const token = await mintToken(`silent-${randomUUID()}`);
      for (let i = 0; i < 5; i++) {
        const res = await within(viewerQuery(t, token));
        expect(res === "hung" ? "hung" : res.status, `request ${i + 1}`).toBe(200);
      }
    } finally {
      await t.close();
      silent.close();
    }
  });

  it("a real Redis stopped (SIGSTOP) mid-run: requests are served, and it is not asked again until it is back", async () => {
    const port = await freePort();
    const server = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { stdio: "ignore" },
    );
    const spawned = await new Promise<boolean>((resolve) => {
      server.once("spawn", () => resolve(true));
      server.once("error", () => resolve(false));
    });
    if (!serviceAvailable("redis-server", spawned, "PATH")) return;
    const proxy = await startTcpProxy(`redis://127.0.0.1:${port}`);
    let t: TestApp | undefined;
    try {
      const redisUrl = proxy.url;
      await expect.poll(() => redisAnswers(redisUrl), { timeout: 10_000, interval: 100 }).toBe(true);
      t = await startTestApp({ RATE_LIMIT_USER: "1000", REDIS_URL: redisUrl });
      const user = `stopped-${randomUUID()}`;
      const token = await mintToken(user);
      expect((await viewerQuery(t, token)).status).toBe(200);
      expect(proxy.stats.bytesToServer).toBeGreaterThan(0);

      server.kill("SIGSTOP");
      const first = await within(viewerQuery(t, token));
      expect(first === "hung" ? "hung" : first.status).toBe(200);
      // The circuit is open: the next requests do not send Redis a byte.
      const sent = proxy.stats.bytesToServer;
      for (let i = 0; i < 5; i++) {
        const res = await within(viewerQuery(t, token));
        expect(res === "hung" ? "hung" : res.status, `request ${i + 2}`).toBe(200);
      }
      expect(proxy.stats.bytesToServer).toBe(sent);

      server.kill("SIGCONT");
      // Once the circuit's pause is over, the shared count grows again. (The
      // count the stopped Redis was sent before the timeout lands on resume.)
      const direct = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
      const counted = async () => Number(await direct.get(`tasks-api:rate:user:${user}`));
      try {
        const before = await counted();
        await expect
          .poll(
            async () => {
              await viewerQuery(t as TestApp, token);
              return counted();
            },
            { timeout: 15_000, interval: 500 },
          )
          .toBeGreaterThan(before);
      } finally {
        direct.disconnect();
      }
    } finally {
      server.kill("SIGCONT");
      server.kill("SIGKILL");
      await t?.close();
      await proxy.close();
    }
  });
});
