import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "./gql/index.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, dataOf, execute } from "./helpers/graphql.js";
import { mintToken } from "./helpers/tokens.js";

const Viewer = graphql(`
  query Viewer {
    viewer {
      id
      email
      name
    }
  }
`);

describe("GraphQL endpoint", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("answers viewer with the caller, made from the token's claims on first sight", async () => {
    const token = await mintToken("user-basics", { claims: { email: "ada@example.com", name: "Ada" } });
    const data = dataOf(await execute(t, Viewer, {}, token));
    expect(data.viewer).toEqual({ id: "user-basics", email: "ada@example.com", name: "Ada" });
  });

  it("refuses viewer without a token: 401, UNAUTHENTICATED, WWW-Authenticate", async () => {
    const res = await execute(t, Viewer, {});
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect(codesOf(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.data ?? null).toBeNull();
  });

  it("serves GraphiQL to browsers in development, from the service itself", async () => {
    const res = await t.request("/graphql", { headers: { accept: "text/html" } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("YogaGraphiQL");
    expect(html).not.toMatch(/<script[^>]+src=["']https?:/);
  });

  it("has no GraphiQL when it is turned off, as in production", async () => {
    const off = await startTestApp({ GRAPHIQL: "false" });
    try {
      const res = await off.request("/graphql", { headers: { accept: "text/html" } });
      expect(await res.text()).not.toContain("YogaGraphiQL");
    } finally {
      await off.close();
    }
  });
});
