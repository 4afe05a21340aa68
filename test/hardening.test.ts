import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "./gql/index.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { dataOf, execute } from "./helpers/graphql.js";
import { bearer, mintToken } from "./helpers/tokens.js";

const HardeningCreate = graphql(`
  mutation HardeningCreate($title: String!) {
    createTask(input: { title: $title }) {
      id
    }
  }
`);

const HardeningCount = graphql(`
  query HardeningCount {
    tasks {
      totalCount
    }
  }
`);

const mutation = 'mutation { createTask(input: { title: "from a form" }) { id } }';

describe("hardening", () => {
  let t: TestApp;
  let production: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    production = await startTestApp({ NODE_ENV: "production" });
    token = await mintToken("hardening-user");
  });
  afterAll(async () => {
    await t.close();
    await production.close();
  });

  const count = async () => dataOf(await execute(t, HardeningCount, {}, token)).tasks.totalCount;

  it.each([
    ["application/x-www-form-urlencoded", `query=${encodeURIComponent(mutation)}`],
    ["text/plain", JSON.stringify({ query: mutation })],
    [
      "multipart/form-data; boundary=x",
      `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${mutation}\r\n--x--\r\n`,
    ],
    ["", JSON.stringify({ query: mutation })],
  ])("refuses a %s post to /graphql without running it (CSRF)", async (type, body) => {
    const before = await count();
    const res = await t.request("/graphql", {
      method: "POST",
      headers: { ...bearer(token), ...(type ? { "content-type": type } : {}) },
      body,
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: "UNSUPPORTED_MEDIA_TYPE" } }] });
    expect(await count()).toBe(before);
  });

  it("refuses a mutation sent with GET", async () => {
    const before = await count();
    const res = await t.request(`/graphql?query=${encodeURIComponent(mutation)}`, {
      headers: { ...bearer(token), accept: "application/json" },
    });
    expect(res.status).toBe(405);
    expect(await count()).toBe(before);
  });

  it("runs a JSON mutation", async () => {
    const before = await count();
    dataOf(await execute(t, HardeningCreate, { title: "from JSON" }, token));
    expect(await count()).toBe(before + 1);
  });

  it("refuses a GraphQL body over MAX_BODY_BYTES with 413, before parsing or running it", async () => {
    const small = await startTestApp({ MAX_BODY_BYTES: "2048" });
    try {
      const before = await small.db.prisma.task.count();
      small.queries.length = 0;
      const query = `mutation { createTask(input: { title: "${"x".repeat(190)}" }) { id } }`;
      const res = await small.request("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", ...bearer(token) },
        body: JSON.stringify({ query, variables: { padding: "p".repeat(4000) } }),
      });
      expect(res.status).toBe(413);
      // A GraphQL client reads GraphQL's shape, whichever step refused the request.
      expect(await res.json()).toMatchObject({ errors: [{ extensions: { code: "PAYLOAD_TOO_LARGE" } }] });
      expect(small.queries).toEqual([]);
      expect(await small.db.prisma.task.count()).toBe(before);
    } finally {
      await small.close();
    }
  });

  it("sets security headers on every response, and a strict CSP on JSON", async () => {
    for (const path of ["/healthz", "/graphql", "/api/x/tasks", "/nowhere"]) {
      const res = await t.request(path, { headers: { accept: "application/json" } });
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      expect(res.headers.get("referrer-policy")).toBe("no-referrer");
      expect(res.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    }
    // Only production sends HSTS (it is served behind HTTPS).
    expect((await t.request("/healthz")).headers.get("strict-transport-security")).toBeNull();
    expect((await production.request("/healthz")).headers.get("strict-transport-security")).toMatch(/max-age=/);
  });

  it("keeps only a plain, short x-request-id from the caller", async () => {
    const forged = await t.request("/healthz", { headers: { "x-request-id": "a FAKE=log <line>" } });
    expect(forged.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const long = await t.request("/healthz", { headers: { "x-request-id": "x".repeat(500) } });
    expect(long.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  describe("in production", () => {
    const post = (app: TestApp, query: string) =>
      app.request("/graphql", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...bearer(token) },
        body: JSON.stringify({ query }),
      });

    it("serves no GraphiQL", async () => {
      const res = await production.request("/graphql", { headers: { accept: "text/html" } });
      expect(await res.text()).not.toContain("YogaGraphiQL");
    });

    it("refuses introspection, which development allows", async () => {
      const query = "{ __schema { types { name } } }";
      const refused = (await (await post(production, query)).json()) as {
        data?: unknown;
        errors?: { message: string }[];
      };
      expect(refused.data ?? null).toBeNull();
      expect(refused.errors?.[0]?.message).toMatch(/introspection/i);
      const allowed = (await (await post(t, query)).json()) as { data?: { __schema: { types: unknown[] } } };
      expect(allowed.data?.__schema.types.length).toBeGreaterThan(5);
    });

    it("gives no 'Did you mean' hints that would spell out the schema", async () => {
      const body = await (await post(production, "{ taks { totalCount } }")).text();
      expect(body).toContain("Cannot query field");
      expect(body).not.toMatch(/Did you mean/);
      expect(await (await post(t, "{ taks { totalCount } }")).text()).toMatch(/Did you mean/);
    });
  });
});

describe("compression", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ GRAPHIQL: "true" });
  });
  afterAll(() => t.close());

  it("sends the GraphiQL page gzipped to a browser that accepts it, and as is to one that does not", async () => {
    const page = await t.request("/graphql", { headers: { accept: "text/html", "accept-encoding": "br, gzip" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-encoding")).toBe("gzip");
    expect(page.headers.get("vary")).toMatch(/Accept-Encoding/i);
    const zipped = Buffer.from(await page.arrayBuffer());
    const html = gunzipSync(zipped).toString();
    expect(html).toContain("YogaGraphiQL");
    expect(zipped.length).toBeLessThan(Buffer.byteLength(html) / 2);

    const plain = await t.request("/graphql", { headers: { accept: "text/html" } });
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect(await plain.text()).toBe(html);
  });

  it("leaves an answer under 1 KiB uncompressed", async () => {
    const res = await t.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", "accept-encoding": "gzip" },
      body: JSON.stringify({ query: "{ __typename }" }),
    });
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(await res.json()).toEqual({ data: { __typename: "Query" } });
  });
});
