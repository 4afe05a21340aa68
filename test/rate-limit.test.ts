import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { createTestDatabase, type TestDatabase } from "./helpers/database.js";
import { rest } from "./helpers/rest.js";
import { serviceAvailable } from "./helpers/services.js";
import { bearer, mintToken } from "./helpers/tokens.js";

const redisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

async function redisReachable(): Promise<boolean> {
  const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 1000 });
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

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

  it("lets requests through when Redis cannot be reached, rather than failing them", async () => {
    const open = await startTestApp({ RATE_LIMIT_USER: "2", REDIS_URL: "redis://127.0.0.1:1" });
    try {
      const token = await mintToken(`carol-${randomUUID()}`);
      for (let i = 0; i < 4; i++) expect((await viewerQuery(open, token)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe("rate limits shared through Redis by two instances", async () => {
  const available = serviceAvailable("Redis", await redisReachable(), redisUrl);
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
