import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { bearer, mintToken } from "./helpers/tokens.js";

/** Expensive queries are refused while parsing and validating: before any resolver, so before any SQL. */
describe("GraphQL cost controls", () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    token = await mintToken("cost-user");
    // Make the user row exist, so later requests send no SQL at all unless a resolver runs.
    await post({ query: "{ viewer { id } }" });
  });
  afterAll(() => t.close());

  async function post(body: unknown, accept = "application/json") {
    const res = await t.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept, ...bearer(token) },
      body: JSON.stringify(body),
    });
    type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };
    return { status: res.status, body: (await res.json()) as Body };
  }

  /**
   * Refused before any resolver, with the limit's own code and a message
   * that names the limit (not graphql-armor's "Syntax Error:"). The status
   * is the GraphQL-over-HTTP spec's for a request that fails validation:
   * 400 with application/graphql-response+json, 200 with application/json.
   */
  async function expectRefusedBeforeResolvers(query: string, message: RegExp, code: string) {
    for (const [accept, status] of [
      ["application/json", 200],
      ["application/graphql-response+json", 400],
    ] as const) {
      t.queries.length = 0;
      const res = await post({ query }, accept);
      expect(res.status, accept).toBe(status);
      expect(res.body.data ?? null).toBeNull();
      const refusal = res.body.errors?.find((error) => error.extensions?.code === code);
      expect(refusal?.message).toMatch(message);
      expect(refusal?.message).not.toMatch(/Syntax Error/);
      expect(t.queries).toEqual([]);
    }
  }

  const nest = (depth: number) => {
    let selection = "id";
    for (let level = 0; level < depth; level++) selection = `owner { tasks { edges { node { ${selection} } } } }`;
    return `{ tasks { edges { node { ${selection} } } } }`;
  };

  it("accepts an ordinary query", async () => {
    const res = await post({ query: "{ tasks(first: 5) { totalCount edges { node { id owner { id } } } } }" });
    expect(res.body.errors).toBeUndefined();
  });

  it("refuses a query nested too deep", async () => {
    await expectRefusedBeforeResolvers(
      nest(3),
      /^Query depth limit of 10 exceeded, found \d+\.$/,
      "DEPTH_LIMIT_EXCEEDED",
    );
  });

  it("refuses too many aliases", async () => {
    const aliases = Array.from({ length: 50 }, (_, i) => `a${i}: viewer { id }`).join(" ");
    await expectRefusedBeforeResolvers(
      `{ ${aliases} }`,
      /^Aliases limit of 15 exceeded, found 50\.$/,
      "ALIAS_LIMIT_EXCEEDED",
    );
  });

  it("refuses a query with too many tokens", async () => {
    const fields = Array.from({ length: 2100 }, () => "__typename").join(" ");
    await expectRefusedBeforeResolvers(`{ ${fields} }`, /^Token limit of 2000 exceeded\.$/, "TOKEN_LIMIT_EXCEEDED");
  });

  it("refuses a query over the cost budget", async () => {
    const wide = Array.from(
      { length: 14 },
      (_, i) => `t${i}: tasks(first: 100) { edges { node { id title description owner { id email name } } } }`,
    ).join(" ");
    await expectRefusedBeforeResolvers(
      `{ ${wide} }`,
      /^Query Cost limit of 5000 exceeded, found [\d.]+\.$/,
      "COST_LIMIT_EXCEEDED",
    );
  });

  it("refuses too many directives", async () => {
    const directives = Array.from({ length: 20 }, () => "@include(if: true)").join(" ");
    await expectRefusedBeforeResolvers(
      `{ viewer ${directives} { id } }`,
      /^Directives limit of 10 exceeded, found 20\.$/,
      "DIRECTIVE_LIMIT_EXCEEDED",
    );
  });

  it("refuses a page larger than 100", async () => {
    const res = await post({ query: "{ tasks(first: 101) { totalCount } }" });
    expect(res.body.errors?.[0]?.message).toMatch(/first: Must be between 0 and 100/);
  });

  it("refuses batched (array) requests without running any of them", async () => {
    const before = await t.db.prisma.task.count();
    t.queries.length = 0;
    const res = await post([
      { query: 'mutation { createTask(input: { title: "one" }) { id } }' },
      { query: 'mutation { createTask(input: { title: "two" }) { id } }' },
    ]);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(t.queries).toEqual([]);
    expect(await t.db.prisma.task.count()).toBe(before);
  });

  it("still lets GraphiQL introspect the schema in development", async () => {
    const res = await post({
      query:
        "{ __schema { types { name fields { name type { name kind ofType { name kind ofType { name kind ofType { name kind } } } } } } } }",
    });
    expect(res.body.errors).toBeUndefined();
  });
});
