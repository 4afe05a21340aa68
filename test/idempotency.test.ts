import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { graphql } from "../src/gql/index.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { rest } from "./helpers/rest.js";
import { bearer, mintToken } from "./helpers/tokens.js";

const IdempotentCreate = graphql(`
  mutation IdempotentCreate($input: CreateTaskInput!) {
    createTask(input: $input) {
      id
      title
      version
      owner {
        id
      }
    }
  }
`);

describe("Idempotency-Key on creates", () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  beforeAll(async () => {
    t = await startTestApp();
    alice = await mintToken("idem-alice");
    bob = await mintToken("idem-bob");
  });
  afterAll(() => t.close());

  const tasksOf = (userId: string) => t.db.prisma.task.count({ where: { userId } });
  const post = (token: string, key: string | undefined, body: unknown) =>
    rest(t, "POST", `/api/${token === alice ? "idem-alice" : "idem-bob"}/tasks`, {
      token,
      body,
      ...(key === undefined ? {} : { headers: { "idempotency-key": key } }),
    });
  const gql = async (token: string, key: string, title: string) => {
    const res = await t.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": key, ...bearer(token) },
      body: JSON.stringify({ query: IdempotentCreate.toString(), variables: { input: { title } } }),
    });
    return {
      status: res.status,
      body: (await res.json()) as {
        data?: { createTask: { id: string; title: string; version: number; owner: { id: string } } } | null;
        errors?: { extensions?: { code?: string } }[];
      },
    };
  };

  it("a REST retry with the same key and body returns the original 201 and creates nothing", async () => {
    const key = randomUUID();
    const before = await tasksOf("idem-alice");
    const first = await post(alice, key, { title: "Pay rent" });
    const retry = await post(alice, key, { title: "Pay rent" });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect(await tasksOf("idem-alice")).toBe(before + 1);
  });

  it("returns the original result even after the task has changed", async () => {
    const key = randomUUID();
    const first = await post(alice, key, { title: "Call mum" });
    const id = (first.body as { data: { id: string } }).data.id;
    await rest(t, "PATCH", `/api/idem-alice/tasks/${id}/complete`, { token: alice });
    const retry = await post(alice, key, { title: "Call mum" });
    expect(retry.body).toEqual(first.body);
  });

  it("the same key with another body is a 422, and nothing is written", async () => {
    const key = randomUUID();
    await post(alice, key, { title: "One thing" });
    const before = await tasksOf("idem-alice");
    const reused = await post(alice, key, { title: "Another thing" });
    expect(reused.status).toBe(422);
    expect(reused.body).toMatchObject({ error: { code: "IDEMPOTENCY_KEY_REUSED" } });
    expect(await tasksOf("idem-alice")).toBe(before);
  });

  it("works the same through GraphQL's createTask", async () => {
    const key = randomUUID();
    const before = await tasksOf("idem-alice");
    const first = await gql(alice, key, "Water plants");
    const retry = await gql(alice, key, "Water plants");
    expect(first.body.data?.createTask.owner.id).toBe("idem-alice");
    expect(retry.body.data?.createTask).toEqual(first.body.data?.createTask);
    expect(await tasksOf("idem-alice")).toBe(before + 1);
    const reused = await gql(alice, key, "Something else");
    expect(reused.status).toBe(422);
    expect(reused.body.errors?.[0]?.extensions?.code).toBe("IDEMPOTENCY_KEY_REUSED");
  });

  it("keys are per user: another user's same key makes their own task", async () => {
    const key = randomUUID();
    const mine = await post(alice, key, { title: "Shared key" });
    const theirs = await post(bob, key, { title: "Shared key" });
    expect(theirs.status).toBe(201);
    const id = (response: typeof mine) => (response.body as { data: { id: string; user_id: string } }).data;
    expect(id(theirs).id).not.toBe(id(mine).id);
    expect(id(theirs).user_id).toBe("idem-bob");
  });

  it("concurrent retries of one key create exactly one task", async () => {
    const key = randomUUID();
    const before = await tasksOf("idem-bob");
    const results = await Promise.all(Array.from({ length: 10 }, () => post(bob, key, { title: "Only once" })));
    expect(results.map((result) => result.status)).toEqual(Array(10).fill(201));
    expect(new Set(results.map((result) => (result.body as { data: { id: string } }).data.id)).size).toBe(1);
    expect(await tasksOf("idem-bob")).toBe(before + 1);
  });

  it("an expired key is forgotten: the request creates anew", async () => {
    const key = randomUUID();
    await post(alice, key, { title: "Old" });
    await t.db.prisma.idempotencyKey.updateMany({ where: { key }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const before = await tasksOf("idem-alice");
    const again = await post(alice, key, { title: "Old" });
    expect(again.status).toBe(201);
    expect(await tasksOf("idem-alice")).toBe(before + 1);
  });

  it("refuses a malformed key with 400 and writes nothing", async () => {
    const before = await tasksOf("idem-alice");
    const res = await post(alice, "has spaces in it", { title: "x" });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: { code: "BAD_USER_INPUT", details: [{ field: "Idempotency-Key" }] } });
    expect(await tasksOf("idem-alice")).toBe(before);
  });

  it("without a key, two identical posts make two tasks", async () => {
    const before = await tasksOf("idem-alice");
    await post(alice, undefined, { title: "Twice" });
    await post(alice, undefined, { title: "Twice" });
    expect(await tasksOf("idem-alice")).toBe(before + 2);
  });
});
