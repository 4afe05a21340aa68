import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { CreateTaskInput } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, execute } from "./helpers/graphql.js";
import { CreateTask } from "./helpers/operations.js";
import { rest } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

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
  const gql = (token: string, key: string, title: string, description?: string) =>
    execute(
      t,
      CreateTask,
      { input: { title, description: description ?? null } },
      {
        token,
        headers: { "idempotency-key": key },
      },
    );

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
    expect(first.data?.createTask.owner.id).toBe("idem-alice");
    expect(retry.data?.createTask).toEqual(first.data?.createTask);
    expect(await tasksOf("idem-alice")).toBe(before + 1);
    const reused = await gql(alice, key, "Something else");
    expect(reused.status).toBe(422);
    expect(codesOf(reused)).toEqual(["IDEMPOTENCY_KEY_REUSED"]);
  });

  // Each planning field is part of the request: a retry that changed only
  // one of them is another request, and is refused rather than answered with
  // the first task (which would lose the change).
  it.each([
    [{ due_date: "2026-12-24" }, { due_date: "2026-12-25" }],
    [{ due_date: "2026-12-24" }, { due_at: "2026-12-24T00:00:00Z" }],
    [{ due_at: "2026-12-24T10:00:00Z" }, { due_at: "2026-12-24T10:00:01Z" }],
    [{ priority: "high" }, { priority: "urgent" }],
    [{ priority: "none" }, {}],
    [{ labels: ["home"] }, { labels: ["home", "work"] }],
    [{ labels: ["home"] }, {}],
  ])("the same key with %j, then %j, is a 422", async (first, second) => {
    const key = randomUUID();
    const created = await post(alice, key, { title: "Plan", ...first });
    // Not the default: the second body differs in what the first one set.
    expect(created.status).toBe(201);
    const before = await tasksOf("idem-alice");
    const changed = await post(alice, key, { title: "Plan", ...second });
    if (JSON.stringify(first) === JSON.stringify({ priority: "none" })) {
      // "none" is the default: leaving it out is the same request.
      expect(changed.status).toBe(201);
      expect(changed.body).toEqual(created.body);
    } else {
      expect(changed.status).toBe(422);
      expect(changed.body).toMatchObject({ error: { code: "IDEMPOTENCY_KEY_REUSED" } });
    }
    expect(await tasksOf("idem-alice")).toBe(before);
  });

  it("a replay returns the labels the task was created with, in either case of their names", async () => {
    const key = randomUUID();
    const first = await post(alice, key, { title: "Labelled", labels: ["Garden", "tools"], due_date: "2027-01-02" });
    const retry = await post(alice, key, { title: "Labelled", labels: ["TOOLS", "garden"], due_date: "2027-01-02" });
    expect(retry.status).toBe(201);
    expect(retry.body).toEqual(first.body);
    expect((first.body as { data: { labels: string[] } }).data.labels).toEqual(["Garden", "tools"]);
    const graphqlKey = randomUUID();
    const input: CreateTaskInput = { title: "G", priority: "HIGH", labels: ["x"], due: { at: "2027-01-02T03:04:05Z" } };
    const one = await execute(t, CreateTask, { input }, { token: alice, headers: { "idempotency-key": graphqlKey } });
    const two = await execute(t, CreateTask, { input }, { token: alice, headers: { "idempotency-key": graphqlKey } });
    expect(two.data?.createTask).toEqual(one.data?.createTask);
    expect(one.data?.createTask).toMatchObject({ priority: "HIGH", dueAt: "2027-01-02T03:04:05.000Z" });
  });

  // A retry that changed only the description is another request: answering
  // it with the first task would silently drop the edit.
  it("the same key and title with another description is a 422, on REST and GraphQL", async () => {
    const restKey = randomUUID();
    await post(alice, restKey, { title: "Book flights", description: "Window seat" });
    const before = await tasksOf("idem-alice");
    const changed = await post(alice, restKey, { title: "Book flights", description: "Aisle seat" });
    expect(changed.status).toBe(422);
    expect(changed.body).toMatchObject({ error: { code: "IDEMPOTENCY_KEY_REUSED" } });
    const added = await post(alice, restKey, { title: "Book flights" });
    expect(added.status).toBe(422);

    const graphqlKey = randomUUID();
    await gql(alice, graphqlKey, "Book a hotel", "Near the station");
    const edited = await gql(alice, graphqlKey, "Book a hotel", "Near the beach");
    expect(edited.status).toBe(422);
    expect(codesOf(edited)).toEqual(["IDEMPOTENCY_KEY_REUSED"]);
    expect(await tasksOf("idem-alice")).toBe(before + 1);
  });

  it("a keyed create records its change once, with its labels; the retry records none", async () => {
    const key = randomUUID();
    const first = await post(alice, key, { title: "Logged", labels: ["Log"] });
    const id = (first.body as { data: { id: string } }).data.id;
    const events = () => t.db.prisma.taskEvent.findMany({ where: { userId: "idem-alice", taskId: id } });
    const [event, ...others] = await events();
    expect(others).toEqual([]);
    expect(event?.kind).toBe("CREATED");
    expect(event?.task).toMatchObject({ id, title: "Logged", labels: [{ label: { name: "Log" } }] });
    expect((await post(alice, key, { title: "Logged", labels: ["Log"] })).status).toBe(201);
    expect(await events()).toHaveLength(1);
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

  it("a key answers retries until the very instant it expires, and from then on is forgotten", async () => {
    const key = randomUUID();
    const idOf = (response: Awaited<ReturnType<typeof post>>) => (response.body as { data: { id: string } }).data.id;
    const first = await post(alice, key, { title: "Edge" });
    // A minute ahead: well inside the token's lifetime, so that only the key's clock is at stake.
    const expiry = new Date(Date.now() + 60_000);
    await t.db.prisma.idempotencyKey.updateMany({ where: { key }, data: { expiresAt: expiry } });
    try {
      vi.useFakeTimers({ toFake: ["Date"], now: expiry.getTime() - 1 });
      expect(idOf(await post(alice, key, { title: "Edge" }))).toBe(idOf(first));
      vi.setSystemTime(expiry);
      const anew = await post(alice, key, { title: "Edge" });
      expect(anew.status).toBe(201);
      expect(idOf(anew)).not.toBe(idOf(first));
    } finally {
      vi.useRealTimers();
    }
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
