import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";

describe("health and readiness", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("/healthz answers without the database", async () => {
    const res = await t.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("/readyz is ready when the database answers and every migration is applied", async () => {
    const res = await t.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", database: "ok", migrations: "ok" });
  });

  it("an unknown path gets a JSON 404", async () => {
    const res = await t.request("/nowhere");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: "NOT_FOUND", message: "No route for GET /nowhere." } });
  });

  it("echoes a request id, or makes one", async () => {
    const given = await t.request("/healthz", { headers: { "x-request-id": "abc-123" } });
    expect(given.headers.get("x-request-id")).toBe("abc-123");
    const made = await t.request("/healthz");
    expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("/readyz says 503 once draining has begun, while /healthz stays 200", async () => {
    const other = await startTestApp();
    try {
      other.drain();
      const ready = await other.request("/readyz");
      expect(ready.status).toBe(503);
      expect(ready.headers.get("retry-after")).toBe("5");
      expect((await other.request("/healthz")).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
