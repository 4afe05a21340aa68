import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, dataOf, execute, type GraphQLErrorBody, type GraphQLResponse } from "./helpers/graphql.js";
import {
  CreateTask,
  DeleteTask,
  GetTask,
  ListTasksWithViewer,
  SetTaskCompleted,
  ToggleTaskCompleted,
  UpdateTask,
} from "./helpers/operations.js";
import { bearer, mintToken } from "./helpers/tokens.js";

/** Two users, alice and bob: nothing of one is visible to, or changeable by, the other. */

describe("isolation between users", () => {
  let t: TestApp;
  let alice: string;
  let bob: string;
  let aliceIds: string[];
  let bobIds: string[];
  const bobTitle = "bob's secret plan";

  function expectNothingOfBob(text: string) {
    for (const id of bobIds) expect(text).not.toContain(id);
    expect(text).not.toContain("secret");
    expect(text).not.toContain("bob@example.com");
    expect(text).not.toMatch(/"bob"/);
  }

  const bobRows = () => t.db.prisma.task.findMany({ where: { userId: "bob" }, orderBy: { id: "asc" } });

  beforeAll(async () => {
    t = await startTestApp();
    alice = await mintToken("alice", { claims: { email: "alice@example.com" } });
    bob = await mintToken("bob", { claims: { email: "bob@example.com" } });
    const create = async (token: string, title: string, description: string | null = null) =>
      dataOf(await execute(t, CreateTask, { input: { title, description } }, token)).createTask;
    bobIds = [
      (await create(bob, bobTitle, "the secret details")).id,
      (await create(bob, "bob's second secret")).id,
      (await create(bob, "shared word: groceries", "secret")).id,
    ];
    // Complete one of bob's, so that status filters have something of his to leak.
    const [bobFirst] = bobIds;
    if (!bobFirst) throw new Error("no task for bob");
    dataOf(await execute(t, ToggleTaskCompleted, { id: bobFirst }, bob));
    aliceIds = [(await create(alice, "alice's groceries")).id, (await create(alice, "alice's walk")).id];
  });
  afterAll(() => t.close());

  it("task(id) of bob's task is null for alice, exactly as for a random UUID", async () => {
    const random = await execute(t, GetTask, { id: randomUUID() }, alice);
    for (const id of bobIds) {
      const res = await execute(t, GetTask, { id }, alice);
      expect(res.data).toEqual({ task: null });
      expect({ status: res.status, data: res.data, errors: res.errors }).toEqual({
        status: random.status,
        data: random.data,
        errors: random.errors,
      });
      expectNothingOfBob(res.text);
    }
    // bob still sees it.
    const [bobFirst] = bobIds;
    expect(dataOf(await execute(t, GetTask, { id: bobFirst ?? "" }, bob)).task?.title).toBe(bobTitle);
  });

  it("every mutation on bob's task by alice is NOT_FOUND, word for word as for a random UUID, and bob's rows stay", async () => {
    const before = await bobRows();
    const [target] = bobIds;
    if (!target) throw new Error("no task for bob");
    const missing = randomUUID();

    const attempts: [string, (id: string) => Promise<GraphQLResponse<unknown>>][] = [
      ["updateTask", (id) => execute(t, UpdateTask, { id, input: { title: "alice was here" } }, alice)],
      ["updateTask v2", (id) => execute(t, UpdateTask, { id, input: { title: "alice", expectedVersion: 2 } }, alice)],
      [
        "updateTask v9",
        (id) => execute(t, UpdateTask, { id, input: { isCompleted: false, expectedVersion: 9 } }, alice),
      ],
      ["setTaskCompleted", (id) => execute(t, SetTaskCompleted, { id, completed: true }, alice)],
      ["setTaskCompleted v2", (id) => execute(t, SetTaskCompleted, { id, completed: true, expectedVersion: 2 }, alice)],
      ["toggleTaskCompleted", (id) => execute(t, ToggleTaskCompleted, { id }, alice)],
      ["toggleTaskCompleted v1", (id) => execute(t, ToggleTaskCompleted, { id, expectedVersion: 1 }, alice)],
      ["deleteTask", (id) => execute(t, DeleteTask, { id }, alice)],
      ["deleteTask v2", (id) => execute(t, DeleteTask, { id, expectedVersion: 2 }, alice)],
    ];
    for (const [name, attempt] of attempts) {
      const onBobs = await attempt(target);
      const onMissing = await attempt(missing);
      expect(codesOf(onBobs), name).toEqual(["NOT_FOUND"]);
      expect(onBobs.status, name).toBe(404);
      expect({ status: onBobs.status, data: onBobs.data, errors: onBobs.errors }, name).toEqual({
        status: onMissing.status,
        data: onMissing.data,
        errors: onMissing.errors,
      });
      expectNothingOfBob(onBobs.text);
    }
    expect(await bobRows()).toEqual(before);
  });

  it("tasks and viewer.tasks for alice list and count only hers, however they are filtered or ordered", async () => {
    const variants = [
      {},
      { first: 100 },
      { last: 100 },
      { filter: { status: "OPEN" } },
      { filter: { status: "COMPLETED" } },
      { filter: { search: "groceries" } },
      { filter: { search: "secret" } },
      { orderBy: { field: "TITLE", direction: "ASC" } },
      { orderBy: { field: "UPDATED_AT", direction: "DESC" } },
    ] as const;
    for (const variables of variants) {
      const res = await execute(t, ListTasksWithViewer, variables, alice);
      const data = dataOf(res);
      const listed = data.tasks.edges.map((edge) => edge.node.id);
      const viaViewer = data.viewer.tasks.edges.map((edge) => edge.node.id);
      expect(listed.every((id) => aliceIds.includes(id))).toBe(true);
      expect(viaViewer).toEqual(listed);
      expect(data.tasks.totalCount).toBe(listed.length);
      expect(data.viewer.tasks.totalCount).toBe(listed.length);
      expect(data.viewer).toMatchObject({ id: "alice", email: "alice@example.com" });
      for (const edge of data.tasks.edges) expect(edge.node.owner).toEqual({ id: "alice", email: "alice@example.com" });
      expectNothingOfBob(res.text);
    }
    const all = dataOf(await execute(t, ListTasksWithViewer, {}, alice));
    expect(all.tasks.totalCount).toBe(2);
    expect(new Set(all.tasks.edges.map((edge) => edge.node.id))).toEqual(new Set(aliceIds));
    expect(
      dataOf(await execute(t, ListTasksWithViewer, { filter: { search: "groceries" } }, alice)).tasks.totalCount,
    ).toBe(1);
    expect(
      dataOf(await execute(t, ListTasksWithViewer, { filter: { status: "COMPLETED" } }, alice)).tasks.totalCount,
    ).toBe(0);

    // And the other way round: bob sees his three and none of alice's.
    const bobs = dataOf(await execute(t, ListTasksWithViewer, {}, bob));
    expect(bobs.tasks.totalCount).toBe(3);
    expect(new Set(bobs.tasks.edges.map((edge) => edge.node.id))).toEqual(new Set(bobIds));
  });

  it("a cursor from bob's list, used by alice, reveals nothing of bob's", async () => {
    const bobs = dataOf(await execute(t, ListTasksWithViewer, { first: 1 }, bob));
    const cursors = [bobs.tasks.pageInfo.startCursor, bobs.tasks.pageInfo.endCursor];
    const titleOrder = { field: "TITLE", direction: "ASC" } as const;
    const bobsByTitle = dataOf(await execute(t, ListTasksWithViewer, { first: 2, orderBy: titleOrder }, bob));
    for (const cursor of cursors) {
      if (cursor === null) throw new Error("bob's list has no cursor");
      for (const variables of [
        { first: 10, after: cursor },
        { last: 10, before: cursor },
      ]) {
        const res = await execute(t, ListTasksWithViewer, variables, alice);
        const data = dataOf(res);
        expect(data.tasks.edges.every((edge) => aliceIds.includes(edge.node.id))).toBe(true);
        expect(data.tasks.totalCount).toBe(2);
        expectNothingOfBob(res.text);
      }
    }
    const titleCursor = bobsByTitle.tasks.pageInfo.endCursor;
    if (titleCursor === null) throw new Error("bob's list has no cursor");
    const res = await execute(t, ListTasksWithViewer, { first: 10, after: titleCursor, orderBy: titleOrder }, alice);
    expect(dataOf(res).tasks.edges.every((edge) => aliceIds.includes(edge.node.id))).toBe(true);
    expectNothingOfBob(res.text);
  });

  it("createTask always makes a task of the caller: the input has no owner, and an extra field is refused", async () => {
    const created = dataOf(await execute(t, CreateTask, { input: { title: "mine" } }, alice)).createTask;
    expect(created.owner).toEqual({ id: "alice", email: "alice@example.com" });
    expect((await t.db.prisma.task.findUnique({ where: { id: created.id } }))?.userId).toBe("alice");

    const bobCount = await t.db.prisma.task.count({ where: { userId: "bob" } });
    const total = await t.db.prisma.task.count();
    // Variables with fields the schema does not have: refused before anything runs.
    const input = { title: "for bob", userId: "bob", owner: { id: "bob" }, user: "bob" };
    const viaVariables = await execute(t, CreateTask, { input }, alice);
    expect(viaVariables.errors?.length ?? 0).toBeGreaterThan(0);
    expect(viaVariables.data ?? null).toBeNull();
    // The same in the document itself.
    const inline = await t.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", ...bearer(alice) },
      body: JSON.stringify({ query: 'mutation { createTask(input: { title: "for bob", userId: "bob" }) { id } }' }),
    });
    const body = (await inline.json()) as { data?: unknown; errors?: GraphQLErrorBody[] };
    expect(body.errors?.length ?? 0).toBeGreaterThan(0);
    expect(body.data ?? null).toBeNull();

    expect(await t.db.prisma.task.count({ where: { userId: "bob" } })).toBe(bobCount);
    expect(await t.db.prisma.task.count()).toBe(total);
    expect(await t.db.prisma.task.count({ where: { title: "for bob" } })).toBe(0);
  });
});
