import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * One CORS policy, CORS_ORIGINS, for every surface: /graphql (POST and GET)
 * and /api, preflight and actual request, from an allowed and a disallowed
 * origin, through a real socket.
 */

interface Listening {
  t: TestApp;
  url: string;
  close(): Promise<void>;
}

async function listen(env: Record<string, string>): Promise<Listening> {
  const t = await startTestApp(env);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: (request) => t.app.fetch(request), port: 0, hostname: "127.0.0.1" }, () =>
      resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    t,
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await t.close();
    },
  };
}

const allowed = "http://localhost:5173";
const evil = "https://evil.example";

/** The actual requests of each surface, as a browser would send them cross-origin. */
const requests = (token: string): [string, string, RequestInit][] => [
  [
    "POST /graphql",
    "/graphql",
    {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ viewer { id } }" }),
    },
  ],
  [
    "GET /graphql",
    `/graphql?query=${encodeURIComponent("{ viewer { id } }")}`,
    { headers: { authorization: `Bearer ${token}` } },
  ],
  ["GET /api", "/api/cors-user/tasks", { headers: { authorization: `Bearer ${token}` } }],
];

const preflights = ["/graphql", "/api/cors-user/tasks"];

function preflight(base: string, path: string, origin: string) {
  return fetch(`${base}${path}`, {
    method: "OPTIONS",
    headers: {
      origin,
      "access-control-request-method": "POST",
      "access-control-request-headers": "authorization,content-type",
    },
  });
}

describe("CORS with CORS_ORIGINS set", () => {
  let server: Listening;
  let token: string;
  beforeAll(async () => {
    server = await listen({ CORS_ORIGINS: allowed });
    token = await mintToken("cors-user");
  });
  afterAll(() => server.close());

  it.each([0, 1, 2])("an allowed origin may read the answer (request %i)", async (index) => {
    const [what, path, init] = requests(token)[index] ?? ["", "", {}];
    const res = await fetch(`${server.url}${path}`, { ...init, headers: { ...init.headers, origin: allowed } });
    expect(res.status, what).toBe(200);
    expect(res.headers.get("access-control-allow-origin"), what).toBe(allowed);
    expect(res.headers.get("access-control-expose-headers"), what).toMatch(/ETag/);
  });

  it.each([0, 1, 2])("a disallowed origin is not told it may read (request %i)", async (index) => {
    const [what, path, init] = requests(token)[index] ?? ["", "", {}];
    const res = await fetch(`${server.url}${path}`, { ...init, headers: { ...init.headers, origin: evil } });
    expect(res.headers.get("access-control-allow-origin"), what).toBeNull();
    expect(res.headers.get("access-control-allow-credentials"), what).toBeNull();
  });

  it.each(preflights)("preflight on %s: allowed for the allowed origin only", async (path) => {
    const ok = await preflight(server.url, path, allowed);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(allowed);
    expect(ok.headers.get("access-control-allow-methods")).toMatch(/POST/);
    expect(ok.headers.get("access-control-allow-headers")?.toLowerCase()).toMatch(/authorization/);
    const refused = await preflight(server.url, path, evil);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
    expect(refused.headers.get("access-control-allow-credentials")).toBeNull();
  });
});

describe("CORS with CORS_ORIGINS unset", () => {
  let server: Listening;
  let token: string;
  beforeAll(async () => {
    server = await listen({});
    token = await mintToken("cors-user");
  });
  afterAll(() => server.close());

  it.each([0, 1, 2])("no origin is told it may read (request %i)", async (index) => {
    const [what, path, init] = requests(token)[index] ?? ["", "", {}];
    const res = await fetch(`${server.url}${path}`, { ...init, headers: { ...init.headers, origin: evil } });
    expect(res.status, what).toBe(200);
    expect(res.headers.get("access-control-allow-origin"), what).toBeNull();
    expect(res.headers.get("access-control-allow-credentials"), what).toBeNull();
  });

  it.each(preflights)("a preflight on %s allows nothing", async (path) => {
    const res = await preflight(server.url, path, evil);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-allow-methods")).toBeNull();
  });
});
