import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { type JwksServer, jwksEnv, startJwksServer } from "./helpers/jwks-server.js";
import { rest } from "./helpers/rest.js";
import { makeSigningKey } from "./helpers/tokens.js";

/**
 * REST's 503: the auth service's keys cannot be fetched. (Database outages
 * are exercised by the fault tests.) Every response is checked against the
 * OpenAPI contract by `rest()`.
 */
describe("REST when the auth service's keys are unreachable", () => {
  let jwks: JwksServer;
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    const key = await makeSigningKey("k1");
    jwks = await startJwksServer([key.jwk]);
    t = await startTestApp(jwksEnv(jwks));
    token = await key.sign("rest-unavailable", { issuer: jwks.baseUrl, audience: jwks.baseUrl });
    await jwks.close();
  });
  afterAll(async () => {
    await t.close();
    await jwks.close();
  });

  it.each([
    ["GET", "/api/rest-unavailable/tasks"],
    ["POST", "/api/rest-unavailable/tasks"],
    ["GET", "/api/rest-unavailable/tasks/7f1c2a5e-9d3b-4c8e-a1f0-2b6d4e8c9a10"],
    ["PATCH", "/api/rest-unavailable/tasks/7f1c2a5e-9d3b-4c8e-a1f0-2b6d4e8c9a10/complete"],
  ])("%s %s answers 503 with Retry-After, not 401", async (method, path) => {
    const res = await rest(t, method, path, {
      token,
      ...(method === "POST" ? { body: { title: "never written" } } : {}),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(res.body).toMatchObject({ error: { code: "SERVICE_UNAVAILABLE" } });
  });

  it("serves again once the keys can be fetched, without a restart", async () => {
    await jwks.reopen();
    const res = await rest(t, "GET", "/api/rest-unavailable/tasks", { token });
    expect(res.status).toBe(200);
    await jwks.close();
  });
});
