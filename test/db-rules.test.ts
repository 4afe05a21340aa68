import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateTaskInput, ListTitlesPagedQuery, TaskOrder } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, dataOf, execute, type GraphQLResponse } from "./helpers/graphql.js";
import {
  AddTaskLabels,
  CreateLabel,
  CreateTask,
  DeleteLabel,
  GetTask,
  ListLabels,
  ListTasks,
  ListTitlesPaged,
  UpdateLabel,
  UpdateTask,
} from "./helpers/operations.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * The data layer's rules, each pinned by a test that a plausible slip would
 * fail: written against the mutants that survived `npx stryker run --mutate
 * 'src/db/**'` (the rest of the suite let them live). Through GraphQL, as a
 * client sees them.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function newUser(name: string) {
  const id = `rules-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

const create = async (token: string, input: CreateTaskInput) =>
  dataOf(await execute(t, CreateTask, { input }, token)).createTask;

function problemOf(response: GraphQLResponse<unknown>) {
  expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
  return response.errors?.[0]?.extensions?.details?.[0];
}

const cursor = (raw: unknown) => Buffer.from(JSON.stringify(raw)).toString("base64url");

describe("pages", () => {
  it("refuses first with last, naming `last` and saying what to use", async () => {
    const user = await newUser("firstlast");
    expect(problemOf(await execute(t, ListTasks, { first: 1, last: 1 }, user.token))).toEqual({
      field: "last",
      message: "Use either first (with after) or last (with before).",
    });
  });

  it("allows an empty page (first: 0) and still counts and sees what follows", async () => {
    const user = await newUser("zero");
    await create(user.token, { title: "one" });
    const { tasks } = dataOf(await execute(t, ListTasks, { first: 0 }, user.token));
    expect(tasks.edges).toEqual([]);
    expect(tasks.pageInfo.hasNextPage).toBe(true);
    expect(tasks.totalCount).toBe(1);
  });

  it("counts every match on every page, not the page", async () => {
    const user = await newUser("count");
    for (let i = 0; i < 5; i++) await create(user.token, { title: `t${i}` });
    const first = dataOf(await execute(t, ListTasks, { first: 2 }, user.token)).tasks;
    expect(first.totalCount).toBe(5);
    const next = dataOf(await execute(t, ListTasks, { first: 2, after: first.pageInfo.endCursor }, user.token)).tasks;
    expect(next.totalCount).toBe(5);
    expect(dataOf(await execute(t, ListTasks, { last: 2 }, user.token)).tasks.totalCount).toBe(5);
  });

  it.each<TaskOrder>([
    { field: "CREATED_AT", direction: "DESC" },
    { field: "DUE", direction: "ASC" },
    { field: "PRIORITY", direction: "DESC" },
    { field: "TITLE", direction: "ASC" },
  ])("pages through every task in %o when the selection reads only titles", async (orderBy) => {
    const user = await newUser("titles");
    const made = [];
    for (const [i, priority] of (["LOW", "HIGH", "LOW", "URGENT", "NONE"] as const).entries()) {
      made.push(
        await create(user.token, { title: `t${i}`, priority, ...(i < 3 ? { due: { date: `2026-12-2${i}` } } : {}) }),
      );
    }
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: ListTitlesPagedQuery["tasks"] = dataOf(
        await execute(t, ListTitlesPaged, { first: 2, after, orderBy }, user.token),
      ).tasks;
      seen.push(...page.edges.map((edge) => edge.node.title));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual(made.map((task) => task.title).sort());
  });

  it("refuses cursors that are not ours, with a message, and never a 500", async () => {
    const user = await newUser("cursors");
    const id = randomUUID();
    const created = (value: unknown) => ({ after: cursor(["c", value, id]) });
    const refused = [
      { after: "!!!" },
      { after: Buffer.from("not json").toString("base64url") },
      { after: cursor({ c: 1 }) },
      { after: cursor(["c", "2026-01-01T00:00:00.000Z"]) },
      created("2026-01-01"),
      created("+010000-01-01T00:00:00.000Z"),
      created("0000-01-01T00:00:00.000Z"),
      { after: cursor(["c", "2026-01-01T00:00:00.000Z", `zz${id}`]) },
      { after: cursor(["c", "2026-01-01T00:00:00.000Z", `${id}zz`]) },
      { after: cursor(["p", 9, id]), orderBy: { field: "PRIORITY", direction: "DESC" } as TaskOrder },
    ];
    for (const variables of refused) {
      const response = await execute(t, ListTasks, { first: 5, ...variables }, user.token);
      expect(problemOf(response), JSON.stringify(variables)).toEqual({
        field: "after",
        message: "Not a cursor of this list (with this order).",
      });
    }
    // The ends of the storable years are cursors (of nothing beyond them).
    for (const value of ["9999-12-31T00:00:00.000Z", "0001-01-01T00:00:00.000Z"]) {
      expect(codesOf(await execute(t, ListTasks, { first: 5, ...created(value) }, user.token))).toEqual([]);
    }
  });
});

describe("filters", () => {
  it("by label names, with the caller's labels only, even where another user has the same name", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    const mine = await create(alice.token, { title: "mine", labels: ["shared"] });
    // Bob's label of the same name is made after Alice's.
    await create(bob.token, { title: "his", labels: ["shared"] });
    const list = dataOf(await execute(t, ListTasks, { filter: { labels: { anyOf: ["shared"] } } }, alice.token));
    expect(list.tasks.edges.map((edge) => edge.node.id)).toEqual([mine.id]);
    const all = dataOf(await execute(t, ListTasks, { filter: { labels: { allOf: ["SHARED"] } } }, alice.token));
    expect(all.tasks.edges.map((edge) => edge.node.id)).toEqual([mine.id]);
  });

  it("anyOf no names matches nothing; allOf no names matches everything", async () => {
    const user = await newUser("empty-labels");
    await create(user.token, { title: "a", labels: ["x"] });
    await create(user.token, { title: "b" });
    const any = dataOf(await execute(t, ListTasks, { filter: { labels: { anyOf: [] } } }, user.token));
    expect(any.tasks.edges).toEqual([]);
    const every = dataOf(await execute(t, ListTasks, { filter: { labels: { allOf: [] } } }, user.token));
    expect(every.tasks.totalCount).toBe(2);
  });

  it("dueBefore an instant during a day includes that day's all-day tasks and no later timed ones", async () => {
    const user = await newUser("before");
    const allDay = await create(user.token, { title: "all day", due: { date: "2026-12-24" } });
    const early = await create(user.token, { title: "early", due: { at: "2026-12-24T08:00:00Z" } });
    await create(user.token, { title: "late", due: { at: "2026-12-24T18:00:00Z" } });
    await create(user.token, { title: "next day", due: { date: "2026-12-25" } });
    const list = dataOf(
      await execute(t, ListTasks, { filter: { dueBefore: "2026-12-24T12:00:00Z", timeZone: "UTC" } }, user.token),
    );
    expect(list.tasks.edges.map((edge) => edge.node.id).sort()).toEqual([allDay.id, early.id].sort());
  });

  it("overdue: false leaves out overdue tasks of both kinds", async () => {
    const user = await newUser("not-overdue");
    await create(user.token, { title: "past day", due: { date: "2020-01-01" } });
    await create(user.token, { title: "past instant", due: { at: "2020-01-01T10:00:00Z" } });
    const future = await create(user.token, { title: "future", due: { date: "2999-01-01" } });
    const none = await create(user.token, { title: "none" });
    const list = dataOf(await execute(t, ListTasks, { filter: { overdue: false } }, user.token));
    expect(list.tasks.edges.map((edge) => edge.node.id).sort()).toEqual([future.id, none.id].sort());
  });
});

describe("labels", () => {
  it("are listed by name ignoring case", async () => {
    const user = await newUser("order");
    for (const name of ["b", "C", "a"]) await execute(t, CreateLabel, { input: { name } }, user.token);
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    expect(labels.map((label) => label.name)).toEqual(["a", "b", "C"]);
  });

  it("a new name makes the caller's own label even when another user has one by that name", async () => {
    const alice = await newUser("own-a");
    const bob = await newUser("own-b");
    await create(bob.token, { title: "his", labels: ["errand"] });
    const mine = await create(alice.token, { title: "mine", labels: ["errand"] });
    expect(mine.labels.map((label) => label.name)).toEqual(["errand"]);
    expect(dataOf(await execute(t, ListLabels, {}, alice.token)).labels.map((label) => label.name)).toEqual(["errand"]);
  });

  it("replacing one task's labels leaves every other task's as they were", async () => {
    const user = await newUser("replace");
    const one = await create(user.token, { title: "one", labels: ["a", "b"] });
    const two = await create(user.token, { title: "two", labels: ["a", "b"] });
    await execute(t, UpdateTask, { id: one.id, input: { labels: ["b", "c"] } }, user.token);
    const labelsNow = async (id: string) =>
      dataOf(await execute(t, GetTask, { id }, user.token)).task?.labels.map((label) => label.name);
    expect(await labelsNow(one.id)).toEqual(["b", "c"]);
    expect(await labelsNow(two.id)).toEqual(["a", "b"]);
  });

  it("a task carries up to 20, and the 21st is refused with the field and the rule", async () => {
    const user = await newUser("twenty");
    const task = await create(user.token, { title: "busy", labels: Array.from({ length: 19 }, (_, i) => `l${i}`) });
    const twentieth = dataOf(await execute(t, AddTaskLabels, { id: task.id, names: ["l19"] }, user.token));
    expect(twentieth.addTaskLabels.labels).toHaveLength(20);
    expect(problemOf(await execute(t, AddTaskLabels, { id: task.id, names: ["l20"] }, user.token))).toEqual({
      field: "names",
      message: "A task can carry at most 20 labels.",
    });
  });

  it("a user has up to 500, counting only the new names, and is told which field went over", async () => {
    const user = await newUser("five-hundred");
    for (let i = 0; i < 499; i++) {
      expect(codesOf(await execute(t, CreateLabel, { input: { name: `n${i}` } }, user.token))).toEqual([]);
    }
    // One existing and one new name: 500 in all, allowed.
    const task = await create(user.token, { title: "at the cap", labels: ["n0", "new"] });
    expect(task.labels.map((label) => label.name).sort()).toEqual(["n0", "new"]);
    const rule = "A user can have at most 500 labels.";
    expect(problemOf(await execute(t, CreateLabel, { input: { name: "over" } }, user.token))).toEqual({
      field: "name",
      message: rule,
    });
    expect(problemOf(await execute(t, CreateTask, { input: { title: "x", labels: ["over"] } }, user.token))).toEqual({
      field: "labels",
      message: rule,
    });
    // A create made retry-safe by a key goes its own way to the same rule.
    const keyed = await execute(
      t,
      CreateTask,
      { input: { title: "x", labels: ["over"] } },
      { token: user.token, headers: { "idempotency-key": randomUUID() } },
    );
    expect(problemOf(keyed)).toEqual({ field: "labels", message: rule });
    expect(problemOf(await execute(t, UpdateTask, { id: task.id, input: { labels: ["over"] } }, user.token))).toEqual({
      field: "labels",
      message: rule,
    });
    expect(problemOf(await execute(t, AddTaskLabels, { id: task.id, names: ["over"] }, user.token))).toEqual({
      field: "names",
      message: rule,
    });
  });

  it("an update that changes nothing visible leaves the tasks' versions alone", async () => {
    const user = await newUser("same");
    const task = await create(user.token, { title: "t", labels: ["keep"] });
    const id = task.labels[0]?.id ?? "";
    await execute(t, UpdateLabel, { id, input: { name: "keep", color: null } }, user.token);
    expect(dataOf(await execute(t, GetTask, { id: task.id }, user.token)).task?.version).toBe(1);
    await execute(t, UpdateLabel, { id, input: { name: "Keep" } }, user.token);
    expect(dataOf(await execute(t, GetTask, { id: task.id }, user.token)).task?.version).toBe(2);
  });

  it("a name taken (ignoring case) is a CONFLICT that names it; a missing label is NOT_FOUND", async () => {
    const user = await newUser("taken");
    await execute(t, CreateLabel, { input: { name: "Home" } }, user.token);
    const taken = await execute(t, CreateLabel, { input: { name: "home" } }, user.token);
    expect(codesOf(taken)).toEqual(["CONFLICT"]);
    expect(taken.errors?.[0]?.message).toBe('There is already a label named "home" (names ignore case).');
    const missing = await execute(t, DeleteLabel, { id: randomUUID() }, user.token);
    expect(codesOf(missing)).toEqual(["NOT_FOUND"]);
    expect(missing.errors?.[0]?.message).toBe("Label not found.");
  });
});

describe("an idempotent create's replay", () => {
  it("gives back the task as made, description and label colors included", async () => {
    const user = await newUser("replay");
    await execute(t, CreateLabel, { input: { name: "red", color: "#ff0000" } }, user.token);
    const key = randomUUID();
    const input = { title: "once", description: "with words", labels: ["red"] };
    const first = dataOf(
      await execute(t, CreateTask, { input }, { token: user.token, headers: { "idempotency-key": key } }),
    );
    const again = dataOf(
      await execute(t, CreateTask, { input }, { token: user.token, headers: { "idempotency-key": key } }),
    );
    expect(again.createTask).toEqual(first.createTask);
    expect(again.createTask).toMatchObject({ description: "with words", labels: [{ name: "red", color: "#ff0000" }] });
  });
});
