import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { optionalInt } from "./helpers/env.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * Whatever a client sends to /graphql (any operation type, any request
 * shape, with or without a token), the answer is never a 5xx: a malformed
 * request is the client's error. Fixed cases first (each once a 500), then
 * a fuzz over the same dimensions; FUZZ_SEED replays a seed.
 */

const seed = optionalInt("FUZZ_SEED");

const operations = [
  "subscription { __typename }",
  "subscription S { tasks { totalCount } }",
  "subscription { viewer { id } }",
  "query { __typename }",
  "mutation { __typename }",
  "{ viewer { id } }",
  "query A { __typename } query B { viewer { id } }",
  'mutation { createTask(input: { title: "shape" }) { id } }',
  "fragment F on Task { id } query { tasks { edges { node { ...F } } } }",
  "query ($n: Int!) { tasks(first: $n) { totalCount } }",
  "{",
  "",
  "query { nope }",
  "{ tasks(first: -1) { totalCount } }",
  '{ task(id: "not-a-uuid") { id } }',
];

const jsonValues = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.string({ maxLength: 20 }),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }), fc.constant(null)), {
    maxKeys: 3,
  }),
);

describe("GraphQL request shapes: never a 5xx", () => {
  let t: TestApp;
  let token: string;
  beforeAll(async () => {
    t = await startTestApp();
    token = await mintToken("shape-user");
  });
  afterAll(() => t.close());

  async function send(init: {
    method: string;
    path?: string;
    body?: string;
    type?: string | undefined;
    auth?: string | undefined;
    accept?: string;
  }) {
    const headers: Record<string, string> = { accept: init.accept ?? "application/json" };
    if (init.type !== undefined) headers["content-type"] = init.type;
    if (init.auth !== undefined) headers.authorization = init.auth;
    const res = await t.request(init.path ?? "/graphql", {
      method: init.method,
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
    });
    const text = await res.text();
    return { status: res.status, text };
  }

  function expectClientError(res: { status: number; text: string }, what: string) {
    expect(res.status, `${what}: ${res.text.slice(0, 300)}`).toBeLessThan(500);
    expect(res.text, what).not.toMatch(/\n\s+at |node_modules|Unexpected error/);
  }

  it.each(operations)("POST %j, with and without a token: no 5xx", async (query) => {
    for (const auth of [undefined, `Bearer ${token}`, "Bearer nope"]) {
      for (const accept of ["application/json", "application/graphql-response+json"]) {
        const res = await send({
          method: "POST",
          type: "application/json",
          body: JSON.stringify({ query }),
          auth,
          accept,
        });
        expectClientError(res, `POST ${query} auth=${auth !== undefined} accept=${accept}`);
      }
    }
  });

  it.each(operations)("GET %j: no 5xx", async (query) => {
    const res = await send({
      method: "GET",
      path: `/graphql?query=${encodeURIComponent(query)}`,
      auth: `Bearer ${token}`,
    });
    expectClientError(res, `GET ${query}`);
  });

  it("a subscription asked for as one JSON answer is refused with a code that says how to stream it", async () => {
    const res = await send({
      method: "POST",
      type: "application/json",
      body: JSON.stringify({ query: "subscription { taskEvents { cursor } }" }),
      accept: "application/graphql-response+json",
      auth: `Bearer ${await mintToken("shapes-subscriber")}`,
    });
    expect(res.status).toBe(406);
    expect(JSON.parse(res.text)).toMatchObject({
      errors: [{ extensions: { code: "NOT_ACCEPTABLE" }, message: expect.stringMatching(/text\/event-stream/) }],
    });
  });

  it("any body, type, operation and parameters: no 5xx (fuzz)", async () => {
    const body = fc.oneof(
      fc
        .record(
          {
            query: fc.oneof(fc.constantFrom(...operations), jsonValues),
            variables: jsonValues,
            operationName: fc.oneof(fc.constantFrom("A", "B", "S", ""), jsonValues),
            extensions: fc.oneof(
              jsonValues,
              fc.constant({ persistedQuery: { version: 1, sha256Hash: "0".repeat(64) } }),
            ),
          },
          { requiredKeys: [] },
        )
        .map((value) => JSON.stringify(value)),
      jsonValues.map((value) => JSON.stringify(value)),
      fc.string({ maxLength: 40 }),
      fc.constantFrom("[{]", '{"query":', "\u0000", "[]", '[{"query":"{ __typename }"}]'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("POST", "GET", "PUT", "OPTIONS"),
        body,
        fc.constantFrom("application/json", "application/graphql-response+json", "text/plain", undefined),
        fc.constantFrom(undefined, `Bearer ${token}`, "Bearer x.y.z", "Basic abc"),
        async (method, text, type, auth) => {
          const res =
            method === "GET"
              ? await send({ method, path: `/graphql?query=${encodeURIComponent(text)}`, auth })
              : await send({ method, body: text, type, auth });
          expectClientError(res, `${method} ${type} ${text}`);
        },
      ),
      { numRuns: 150, ...(seed === undefined ? {} : { seed }) },
    );
  });
});
