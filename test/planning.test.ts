import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addDays, dayOf, formatCalendarDate } from "../src/calendar.js";
import type { CreateTaskInput, ListTasksQuery, TaskFieldsFragment, TaskFilter, TaskOrder } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { usingPostgres, withClient } from "./helpers/database.js";
import { codesOf, dataOf, execute } from "./helpers/graphql.js";
import {
  AddTaskLabels,
  CreateLabel,
  CreateTask,
  DeleteLabel,
  GetLabel,
  GetTask,
  ListLabels,
  ListTasks,
  RemoveTaskLabels,
  TaskChanges,
  UpdateLabel,
  UpdateTask,
} from "./helpers/operations.js";
import { asRest, errorOf, listOf, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * Due dates, priorities and labels: what each filter and order returns, on
 * GraphQL and REST alike, calendar days in awkward time zones, and labels
 * that stay their owner's.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function newUser(name: string) {
  const id = `plan-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

async function create(token: string, input: CreateTaskInput): Promise<TaskFieldsFragment> {
  return dataOf(await execute(t, CreateTask, { input }, token)).createTask;
}

/** Titles of every task matching the filter, through GraphQL and through REST (which must agree). */
async function titlesMatching(
  user: { id: string; token: string },
  filter: TaskFilter,
  query: string,
): Promise<string[]> {
  const { tasks } = dataOf(await execute(t, ListTasks, { first: 100, filter }, user.token));
  const graphql = tasks.edges.map((edge) => edge.node.title).sort();
  const list = listOf(await rest(t, "GET", `/api/${user.id}/tasks?limit=1000&${query}`, { token: user.token }));
  expect(list.data.map((task) => task.title).sort()).toEqual(graphql);
  expect(tasks.totalCount).toBe(graphql.length);
  return graphql;
}

describe("a task's due date, priority and labels", () => {
  it("are set on create and read back the same through GraphQL and REST", async () => {
    const user = await newUser("fields");
    const allDay = await create(user.token, {
      title: "Wrap presents",
      due: { date: "2026-12-24" },
      priority: "HIGH",
      labels: ["Home", "gifts"],
    });
    expect(allDay).toMatchObject({ dueDate: "2026-12-24", dueAt: null, priority: "HIGH" });
    expect(allDay.labels.map((label) => label.name)).toEqual(["gifts", "Home"]);

    const timed = await create(user.token, { title: "Call", due: { at: "2026-12-24T17:00:00+01:00" } });
    expect(timed).toMatchObject({ dueDate: null, dueAt: "2026-12-24T16:00:00.000Z", priority: "NONE", labels: [] });

    const plain = await create(user.token, { title: "Plain" });
    expect(plain).toMatchObject({ dueDate: null, dueAt: null, priority: "NONE", labels: [] });

    for (const task of [allDay, timed, plain]) {
      const read = taskOf(await rest(t, "GET", `/api/${user.id}/tasks/${task.id}`, { token: user.token }));
      expect(read).toEqual(asRest(task));
    }
    const viaRest = taskOf(
      await rest(t, "POST", `/api/${user.id}/tasks`, {
        token: user.token,
        body: { title: "Via REST", due_at: "2026-12-31T23:00:00-05:00", priority: "urgent", labels: ["home"] },
      }),
      201,
    );
    expect(viaRest).toMatchObject({ due_date: null, due_at: "2027-01-01T04:00:00.000Z", priority: "urgent" });
    // "home" is the label "Home" made above: names ignore case.
    expect(viaRest.labels).toEqual(["Home"]);
    const { task } = dataOf(await execute(t, GetTask, { id: viaRest.id }, user.token));
    expect(task && asRest(task)).toEqual(viaRest);
  });

  it("are counted in a list's total when the page holds only some of the matches", async () => {
    const user = await newUser("totals");
    await create(user.token, { title: "a", priority: "HIGH", labels: ["work"], due: { date: "2026-12-24" } });
    await create(user.token, { title: "b", priority: "HIGH", labels: ["work", "home"] });
    await create(user.token, { title: "c", priority: "LOW", labels: ["home"], due: { date: "2026-12-24" } });
    for (const input of [{ title: "d needle" }, { title: "e needle", priority: "HIGH" }] as CreateTaskInput[]) {
      const done = await create(user.token, input);
      await execute(t, UpdateTask, { id: done.id, input: { isCompleted: true } }, user.token);
    }
    // One task per page, so that every total needs counting; REST also reads the change cursor with it.
    for (const [query, filter, total] of [
      ["", {}, 5],
      ["status=pending", { status: "OPEN" }, 3],
      ["status=completed", { status: "COMPLETED" }, 2],
      ["priority=high", { priorities: ["HIGH"] }, 3],
      ["priority=high&status=pending", { priorities: ["HIGH"], status: "OPEN" }, 2],
      ["labels=work", { labels: { anyOf: ["work"] } }, 2],
      ["labels_all=work,home", { labels: { allOf: ["work", "home"] } }, 1],
      ["due_on=2026-12-24", { dueOn: "2026-12-24" }, 2],
      ["has_due=false", { hasDueDate: false }, 3],
      ["q=needle", { search: "needle" }, 2],
      ["q=needle&status=completed", { search: "needle", status: "COMPLETED" }, 2],
    ] as [string, TaskFilter, number][]) {
      const list = listOf(await rest(t, "GET", `/api/${user.id}/tasks?limit=1&${query}`, { token: user.token }));
      expect([query, list.meta.total]).toEqual([query, total]);
      const { tasks } = dataOf(await execute(t, ListTasks, { first: 1, filter }, user.token));
      expect([query, tasks.totalCount]).toEqual([query, total]);
    }
  });

  it.each([
    [{ title: "x", due: { date: "2026-12-24", at: "2026-12-24T10:00:00Z" } }, "input.due"],
    [{ title: "x", due: {} }, "input.due"],
    [{ title: "x", labels: ["a,b"] }, "input.labels.0"],
    [{ title: "x", labels: [" "] }, "input.labels.0"],
    [{ title: "x", labels: ["x".repeat(51)] }, "input.labels.0"],
    [{ title: "x", labels: Array.from({ length: 21 }, (_, i) => `l${i}`) }, "input.labels"],
  ] as [CreateTaskInput, string][])("refuses %j, naming %s", async (input, field) => {
    const user = await newUser("invalid");
    const response = await execute(t, CreateTask, { input }, user.token);
    expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
    expect(response.errors?.[0]?.extensions?.details?.map((detail) => detail.field)).toContain(field);
    const { tasks } = dataOf(await execute(t, ListTasks, { first: 10 }, user.token));
    expect(tasks.totalCount).toBe(0);
  });

  it.each([
    ["2026-02-30", "2026-12-24T10:00:00"],
    ["26-12-24", "2026-12-24 10:00Z"],
    ["2026-13-01", "2026-02-30T10:00:00Z"],
  ])("refuses the date %j and the instant %j as values", async (date, at) => {
    const user = await newUser("scalars");
    for (const due of [{ date }, { at }]) {
      const response = await execute(t, CreateTask, { input: { title: "x", due } }, user.token);
      expect(response.status).toBe(400);
      // The value and the type it is not.
      expect(response.errors?.[0]?.message).toContain(JSON.stringify(Object.values(due)[0]));
      expect(response.errors?.[0]?.message).toMatch(/Date(Time)?\b/);
    }
    for (const body of [{ due_date: date }, { due_at: at }]) {
      const response = await rest(t, "POST", `/api/${user.id}/tasks`, {
        token: user.token,
        body: { title: "x", ...body },
      });
      const error = errorOf(response, 400, "BAD_USER_INPUT");
      expect(error.details?.[0]?.field).toBe(Object.keys(body)[0]);
    }
    expect(listOf(await rest(t, "GET", `/api/${user.id}/tasks`, { token: user.token })).meta.total).toBe(0);
  });

  it("a variable of the wrong type (an unknown priority, a number for a title) is a 400 BAD_USER_INPUT", async () => {
    const user = await newUser("variables");
    for (const input of [{ title: "x", priority: "CRITICAL" }, { title: 5 }] as unknown as CreateTaskInput[]) {
      const response = await execute(t, CreateTask, { input }, user.token);
      expect(response.status).toBe(400);
      expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors?.[0]?.message).toMatch(/got invalid value/);
    }
    const filtered = await execute(
      t,
      ListTasks,
      { first: 1, filter: { priorities: ["HIGHEST" as "HIGH"] } },
      user.token,
    );
    expect(codesOf(filtered)).toEqual(["BAD_USER_INPUT"]);
    expect(listOf(await rest(t, "GET", `/api/${user.id}/tasks`, { token: user.token })).meta.total).toBe(0);
  });

  it("a legacy PUT (title, description, is_completed) keeps the due date, priority and labels", async () => {
    const user = await newUser("legacy");
    const task = await create(user.token, {
      title: "Old",
      due: { date: "2026-12-24" },
      priority: "URGENT",
      labels: ["home"],
    });
    const put = taskOf(
      await rest(t, "PUT", `/api/${user.id}/tasks/${task.id}`, {
        token: user.token,
        body: { title: "New", description: "d", is_completed: true },
      }),
    );
    expect(put).toMatchObject({
      title: "New",
      is_completed: true,
      due_date: "2026-12-24",
      priority: "urgent",
      labels: ["home"],
    });
    // Sent, they are replaced; a null due date clears it.
    const replaced = taskOf(
      await rest(t, "PUT", `/api/${user.id}/tasks/${task.id}`, {
        token: user.token,
        body: { title: "New", due_date: null, priority: "low", labels: ["work", "Errands"] },
      }),
    );
    expect(replaced).toMatchObject({ due_date: null, due_at: null, priority: "low", labels: ["Errands", "work"] });
    expect(replaced.version).toBe(put.version + 1);
    const cleared = taskOf(
      await rest(t, "PUT", `/api/${user.id}/tasks/${task.id}`, {
        token: user.token,
        body: { title: "New", due_at: "2027-01-01T00:00:00Z", labels: [] },
      }),
    );
    expect(cleared).toMatchObject({ due_at: "2027-01-01T00:00:00.000Z", priority: "low", labels: [] });
    // A legacy PATCH, too, touches completion only.
    const patched = taskOf(await rest(t, "PATCH", `/api/${user.id}/tasks/${task.id}/complete`, { token: user.token }));
    expect(patched).toMatchObject({ due_at: "2027-01-01T00:00:00.000Z", priority: "low", labels: [] });
  });

  it("GraphQL updates change only what is given; due null clears it", async () => {
    const user = await newUser("update");
    const task = await create(user.token, { title: "T", due: { at: "2026-05-01T12:00:00Z" }, labels: ["a", "b"] });
    const { updateTask } = dataOf(
      await execute(t, UpdateTask, { id: task.id, input: { priority: "MEDIUM", labels: ["b", "c"] } }, user.token),
    );
    expect(updateTask).toMatchObject({ dueAt: "2026-05-01T12:00:00.000Z", priority: "MEDIUM", version: 2 });
    expect(updateTask.labels.map((label) => label.name)).toEqual(["b", "c"]);
    await expectLabelCountsRight(user.id);
    const cleared = dataOf(await execute(t, UpdateTask, { id: task.id, input: { due: null } }, user.token)).updateTask;
    expect(cleared).toMatchObject({ dueAt: null, dueDate: null, priority: "MEDIUM" });
    expect(cleared.labels.map((label) => label.name)).toEqual(["b", "c"]);
  });

  it("a stale expectedVersion changes neither the task nor its labels", async () => {
    const user = await newUser("stale");
    const task = await create(user.token, { title: "T", labels: ["keep"] });
    const response = await execute(
      t,
      UpdateTask,
      { id: task.id, input: { labels: ["other"], expectedVersion: task.version + 5 } },
      user.token,
    );
    expect(codesOf(response)).toEqual(["CONFLICT"]);
    const added = await execute(t, AddTaskLabels, { id: task.id, names: ["x"], expectedVersion: 99 }, user.token);
    expect(codesOf(added)).toEqual(["CONFLICT"]);
    const { task: read } = dataOf(await execute(t, GetTask, { id: task.id }, user.token));
    expect(read?.labels.map((label) => label.name)).toEqual(["keep"]);
    expect(read?.version).toBe(task.version);
    // Neither "other" nor "x" was made.
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    expect(labels.map((label) => label.name)).toEqual(["keep"]);
  });
});

describe("labels", () => {
  it("are made, listed with task counts, and unique per user ignoring case", async () => {
    const user = await newUser("labels");
    const home = dataOf(await execute(t, CreateLabel, { input: { name: " Home ", color: "#A1B2C3" } }, user.token));
    expect(home.createLabel).toMatchObject({ name: "Home", color: "#a1b2c3", taskCount: 0 });
    const again = await execute(t, CreateLabel, { input: { name: "HOME" } }, user.token);
    expect(codesOf(again)).toEqual(["CONFLICT"]);
    expect(again.status).toBe(409);
    const badColor = await execute(t, CreateLabel, { input: { name: "c", color: "red" } }, user.token);
    expect(response400Field(badColor)).toBe("input.color");

    await create(user.token, { title: "one", labels: ["home"] });
    await create(user.token, { title: "two", labels: ["HOME", "work"] });
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    expect(labels.map((label) => [label.name, label.taskCount])).toEqual([
      ["Home", 2],
      ["work", 1],
    ]);
  });

  it("ignore case by lower-casing: Straße and STRASSE are two labels, listed in the order of their lower-cased names", async () => {
    const user = await newUser("case");
    for (const name of ["Straße", "STRASSE", "ab", "A_B", "ǅ"]) {
      const made = await execute(t, CreateLabel, { input: { name } }, user.token);
      expect(codesOf(made), name).toEqual([]);
    }
    // ǅ (a title-case letter) lower-cases to ǆ, as its upper and lower forms do.
    for (const name of ["Ǆ", "ǆ", "straße", "strasse"]) {
      expect(codesOf(await execute(t, CreateLabel, { input: { name } }, user.token)), name).toEqual(["CONFLICT"]);
    }
    // By the lower-cased name, code point by code point: "_" (U+005F) sorts before "b", though after "B".
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    expect(labels.map((label) => label.name)).toEqual(["A_B", "ab", "STRASSE", "Straße", "ǅ"]);
    // A task's labels come in the same order.
    const task = await create(user.token, { title: "ordered", labels: ["ǆ", "straße", "AB", "a_b", "strasse"] });
    expect(task.labels.map((label) => label.name)).toEqual(["A_B", "ab", "STRASSE", "Straße", "ǅ"]);
  });

  it("a rename shows on every task (whose version goes up); a delete takes it off every task", async () => {
    const user = await newUser("rename");
    const tasks = [
      await create(user.token, { title: "a", labels: ["errands"] }),
      await create(user.token, { title: "b", labels: ["errands", "home"] }),
      await create(user.token, { title: "c", labels: ["home"] }),
    ];
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    const errands = labels.find((label) => label.name === "errands");
    if (!errands) throw new Error("no errands label");

    const renamed = dataOf(await execute(t, UpdateLabel, { id: errands.id, input: { name: "Shopping" } }, user.token));
    expect(renamed.updateLabel).toMatchObject({ name: "Shopping", taskCount: 2 });
    const rest1 = listOf(await rest(t, "GET", `/api/${user.id}/tasks?sort=title`, { token: user.token }));
    expect(rest1.data.map((task) => [task.title, task.labels, task.version])).toEqual([
      ["a", ["Shopping"], tasks[0]?.version === undefined ? 0 : tasks[0].version + 1],
      ["b", ["home", "Shopping"], (tasks[1]?.version ?? 0) + 1],
      ["c", ["home"], tasks[2]?.version],
    ]);
    // Renaming onto another label's name (ignoring case) is refused.
    const clash = await execute(t, UpdateLabel, { id: errands.id, input: { name: "HOME" } }, user.token);
    expect(codesOf(clash)).toEqual(["CONFLICT"]);

    dataOf(await execute(t, DeleteLabel, { id: errands.id }, user.token));
    const rest2 = listOf(await rest(t, "GET", `/api/${user.id}/tasks?sort=title`, { token: user.token }));
    expect(rest2.data.map((task) => [task.title, task.labels])).toEqual([
      ["a", []],
      ["b", ["home"]],
      ["c", ["home"]],
    ]);
    expect(rest2.data[0]?.version).toBe((rest1.data[0]?.version ?? 0) + 1);
    expect(dataOf(await execute(t, GetLabel, { id: errands.id }, user.token)).label).toBeNull();
    await expectLabelCountsRight(user.id);
  });

  it("are added and removed by name, up to 20 per task", async () => {
    const user = await newUser("add");
    const task = await create(user.token, { title: "t", labels: ["a"] });
    const added = dataOf(await execute(t, AddTaskLabels, { id: task.id, names: ["B", "a", "c"] }, user.token));
    expect(added.addTaskLabels.labels.map((label) => label.name)).toEqual(["a", "B", "c"]);
    expect(added.addTaskLabels.version).toBe(task.version + 1);
    const removed = dataOf(await execute(t, RemoveTaskLabels, { id: task.id, names: ["b", "zzz"] }, user.token));
    expect(removed.removeTaskLabels.labels.map((label) => label.name)).toEqual(["a", "c"]);

    const many = Array.from({ length: 18 }, (_, i) => `m${i}`);
    const tooMany = await execute(t, AddTaskLabels, { id: task.id, names: [...many, "extra"] }, user.token);
    expect(response400Field(tooMany)).toBe("names");
    const { task: read } = dataOf(await execute(t, GetTask, { id: task.id }, user.token));
    expect(read?.labels).toHaveLength(2);
    await expectLabelCountsRight(user.id);
    // The refused call made no labels either.
    expect(dataOf(await execute(t, ListLabels, {}, user.token)).labels.map((l) => l.name)).toEqual(["a", "B", "c"]);
    // Exactly 20 is allowed, on a new task as on an existing one.
    const full = dataOf(await execute(t, AddTaskLabels, { id: task.id, names: many }, user.token));
    expect(full.addTaskLabels.labels).toHaveLength(20);
    const fresh = await create(user.token, { title: "twenty", labels: [...many, "a", "c"] });
    expect(fresh.labels).toHaveLength(20);
    await expectLabelCountsRight(user.id);
  });

  it(`are at most ${500} per user: one more is refused, by name or on a task, and nothing is written`, async () => {
    const user = await newUser("cap");
    dataOf(await execute(t, CreateLabel, { input: { name: "first" } }, user.token));
    await t.db.prisma.label.createMany({
      data: Array.from({ length: 497 }, (_, i) => ({ userId: user.id, name: `bulk ${i}`, nameKey: `bulk ${i}` })),
    });
    // The 499th by name, and the 500th on a task: the cap itself is allowed.
    dataOf(await execute(t, CreateLabel, { input: { name: "499th" } }, user.token));
    const last = await rest(t, "POST", `/api/${user.id}/tasks`, {
      token: user.token,
      body: { title: "500th", labels: ["first", "500th"] },
    });
    expect(taskOf(last, 201).labels).toEqual(["500th", "first"]);
    await rest(t, "DELETE", `/api/${user.id}/tasks/${taskOf(last, 201).id}`, { token: user.token });
    expect(response400Field(await execute(t, CreateLabel, { input: { name: "one more" } }, user.token))).toBe("name");
    const onTask = await rest(t, "POST", `/api/${user.id}/tasks`, {
      token: user.token,
      body: { title: "t", labels: ["first", "one more"] },
    });
    expect(errorOf(onTask, 400, "BAD_USER_INPUT").details?.[0]?.field).toBe("labels");
    // Existing names are still fine.
    const ok = taskOf(
      await rest(t, "POST", `/api/${user.id}/tasks`, { token: user.token, body: { title: "t", labels: ["FIRST"] } }),
      201,
    );
    expect(ok.labels).toEqual(["first"]);
    expect(listOf(await rest(t, "GET", `/api/${user.id}/tasks`, { token: user.token })).meta.total).toBe(1);
    expect(dataOf(await execute(t, ListLabels, {}, user.token)).labels).toHaveLength(500);
  });

  it("an update that changes neither name nor color changes no task; a new color alone is a change of each", async () => {
    const user = await newUser("noop");
    const task = await create(user.token, { title: "t", labels: ["Errands"] });
    const label = task.labels[0];
    if (!label) throw new Error("no label");
    const head = async () => dataOf(await execute(t, TaskChanges, { after: "0" }, user.token)).taskChanges.endCursor;
    const before = await head();
    for (const input of [{ name: "Errands" }, { color: null }, { name: "Errands", color: null }]) {
      expect(dataOf(await execute(t, UpdateLabel, { id: label.id, input }, user.token)).updateLabel.name).toBe(
        "Errands",
      );
    }
    expect(dataOf(await execute(t, GetTask, { id: task.id }, user.token)).task?.version).toBe(task.version);
    expect(await head()).toBe(before);

    const recolored = dataOf(await execute(t, UpdateLabel, { id: label.id, input: { color: "#00ff00" } }, user.token));
    expect(recolored.updateLabel).toMatchObject({ name: "Errands", color: "#00ff00" });
    expect(dataOf(await execute(t, GetTask, { id: task.id }, user.token)).task?.version).toBe(task.version + 1);
    expect(await head()).not.toBe(before);
    // A new case of the same name is a rename too: tasks show the name as written.
    dataOf(await execute(t, UpdateLabel, { id: label.id, input: { name: "errands" } }, user.token));
    const read = dataOf(await execute(t, GetTask, { id: task.id }, user.token)).task;
    expect(read?.labels.map((l) => l.name)).toEqual(["errands"]);
    expect(read?.version).toBe(task.version + 2);
  });

  it("of one task asked for twice in one request are given to both", async () => {
    const user = await newUser("twice");
    const task = await create(user.token, { title: "t", labels: ["x", "y"] });
    const response = await t.request("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
      body: JSON.stringify({
        query: "query Twice($id: ID!) { a: task(id: $id) { labels { name } } b: task(id: $id) { labels { name } } }",
        variables: { id: task.id },
      }),
    });
    const labels = [{ name: "x" }, { name: "y" }];
    // On the embedded database both asks land in one batch of the loader, two waiters for one task; on
    // PostgreSQL the two task reads may answer on different turns of the event loop, each with its own batch.
    // (That a page's labels take one statement is in queries.test.ts.)
    expect(await response.json()).toEqual({ data: { a: { labels }, b: { labels } } });
  });

  it.runIf(usingPostgres)("the per-user cap holds when many new labels are made at once", async () => {
    const user = await newUser("cap-race");
    dataOf(await execute(t, ListLabels, {}, user.token));
    await t.db.prisma.label.createMany({
      data: Array.from({ length: 498 }, (_, i) => ({ userId: user.id, name: `bulk ${i}`, nameKey: `bulk ${i}` })),
    });
    // Two places are left; six requests want one each, by name or on a new task, all at once.
    const results = await Promise.all([
      ...["n1", "n2", "n3"].map((name) => execute(t, CreateLabel, { input: { name } }, user.token)),
      ...["t1", "t2", "t3"].map((name) =>
        execute(t, CreateTask, { input: { title: name, labels: [name] } }, user.token),
      ),
    ]);
    const codes = results.map((result) => codesOf(result)[0] ?? "OK");
    expect(codes.filter((code) => code === "OK")).toHaveLength(2);
    expect(codes.filter((code) => code === "BAD_USER_INPUT")).toHaveLength(4);
    expect(dataOf(await execute(t, ListLabels, {}, user.token)).labels).toHaveLength(500);
  });

  it.runIf(usingPostgres)("one user's label writes never wait for another user's", async () => {
    const alice = await newUser("lock-a");
    const bob = await newUser("lock-b");
    for (const user of [alice, bob]) dataOf(await execute(t, ListLabels, {}, user.token));
    await withClient(t.database, async (other) => {
      // Alice's per-user label lock, held as a slow write of hers would hold it.
      await other.query("BEGIN");
      await other.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`labels:${alice.id}`]);
      const alices = execute(t, CreateLabel, { input: { name: "waits" } }, alice.token);
      const waiting = async () =>
        (
          await other.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          )
        ).rows[0]?.n;
      await expect.poll(waiting).toBe(1);
      // Bob's goes through meanwhile (a hang here fails the test).
      const bobs = await Promise.race([
        execute(t, CreateLabel, { input: { name: "free" } }, bob.token),
        new Promise<"waited">((resolve) => setTimeout(() => resolve("waited"), 10_000)),
      ]);
      expect(bobs === "waited" ? bobs : codesOf(bobs)).toEqual([]);
      expect(await waiting()).toBe(1);
      await other.query("ROLLBACK");
      expect(codesOf(await alices)).toEqual([]);
    });
  });

  it("of another user are invisible, exactly like missing ones", async () => {
    const owner = await newUser("owner");
    const other = await newUser("other");
    const label = dataOf(await execute(t, CreateLabel, { input: { name: "secret" } }, owner.token)).createLabel;
    await create(owner.token, { title: "owner's", labels: ["secret"] });
    const missing = randomUUID();
    for (const id of [label.id, missing]) {
      expect(dataOf(await execute(t, GetLabel, { id }, other.token)).label).toBeNull();
      const rename = await execute(t, UpdateLabel, { id, input: { name: "mine" } }, other.token);
      expect(codesOf(rename)).toEqual(["NOT_FOUND"]);
      expect(rename.errors?.[0]?.message).toBe("Label not found.");
      expect(codesOf(await execute(t, DeleteLabel, { id }, other.token))).toEqual(["NOT_FOUND"]);
    }
    expect(dataOf(await execute(t, ListLabels, {}, other.token)).labels).toEqual([]);
    // The other user's "secret" is a label of their own, which the owner's tasks do not carry.
    const mine = await create(other.token, { title: "other's", labels: ["secret"] });
    expect(mine.labels[0]?.id).not.toBe(label.id);
    expect(await titlesMatching(other, { labels: { anyOf: ["secret"] } }, "labels=secret")).toEqual(["other's"]);
    expect(dataOf(await execute(t, GetLabel, { id: label.id }, owner.token)).label).toMatchObject({
      name: "secret",
      taskCount: 1,
    });
  });
});

/** Every task's stored label_count (which lets a page skip the labels query) is how many it carries. */
async function expectLabelCountsRight(userId: string) {
  const tasks = await t.db.prisma.task.findMany({
    where: { userId },
    select: { labelCount: true, _count: { select: { labels: true } } },
  });
  expect(tasks.length).toBeGreaterThan(0);
  for (const task of tasks) expect(task.labelCount).toBe(task._count.labels);
}

function response400Field(response: Awaited<ReturnType<typeof execute>>): string | undefined {
  expect(codesOf(response)).toEqual(["BAD_USER_INPUT"]);
  return response.errors?.[0]?.extensions?.details?.[0]?.field;
}

describe("filters", () => {
  let user: { id: string; token: string };
  beforeAll(async () => {
    user = await newUser("filters");
    const inputs: CreateTaskInput[] = [
      { title: "all-day 24th", due: { date: "2026-12-24" }, priority: "LOW", labels: ["home"] },
      // Kiritimati (UTC+14): 23:59 on the 24th. Adak (UTC-10): 23:59 on the 23rd.
      { title: "09:59Z 24th", due: { at: "2026-12-24T09:59:00Z" }, priority: "HIGH", labels: ["home", "work"] },
      // Kiritimati: 00:00 on the 25th. Adak: 00:00 on the 24th.
      { title: "10:00Z 24th", due: { at: "2026-12-24T10:00:00Z" }, priority: "URGENT", labels: ["work"] },
      // Adak: 23:59 on the 24th.
      { title: "09:59Z 25th", due: { at: "2026-12-25T09:59:00Z" }, priority: "URGENT" },
      // America/Adak springs forward on 2026-03-08 (-10 to -9): 23:30 of the 8th, local.
      { title: "dst 8th late", due: { at: "2026-03-09T08:30:00Z" } },
      // 00:30 of the 9th, local: on the 8th only under a fixed -10 offset.
      { title: "dst 9th early", due: { at: "2026-03-09T09:30:00Z" } },
      // Adak falls back on 2026-11-01 (-9 to -10): 23:30 of the 1st, local.
      { title: "dst back 1st late", due: { at: "2026-11-02T09:30:00Z" } },
      { title: "no due", priority: "URGENT", labels: ["home"] },
    ];
    for (const input of inputs) await create(user.token, input);
  });

  it.each([
    ["Pacific/Kiritimati", "2026-12-24", ["09:59Z 24th", "all-day 24th"]],
    ["America/Adak", "2026-12-24", ["09:59Z 25th", "10:00Z 24th", "all-day 24th"]],
    ["UTC", "2026-12-24", ["09:59Z 24th", "10:00Z 24th", "all-day 24th"]],
    ["America/Adak", "2026-12-23", ["09:59Z 24th"]],
    ["America/Adak", "2026-03-08", ["dst 8th late"]],
    ["America/Adak", "2026-03-09", ["dst 9th early"]],
    ["America/Adak", "2026-11-01", ["dst back 1st late"]],
  ])("due on a day in %s: %s holds %j", async (timeZone, day, expected) => {
    const found = await titlesMatching(user, { dueOn: day, timeZone }, `due_on=${day}&tz=${timeZone}`);
    expect(found).toEqual([...expected].sort());
  });

  it("due before and after an instant: timed tasks by instant, all-day tasks by whether their day overlaps", async () => {
    // In Kiritimati the 24th runs from 2026-12-23T10:00Z to 2026-12-24T10:00Z.
    const zone = { timeZone: "Pacific/Kiritimati" };
    expect(
      await titlesMatching(
        user,
        { ...zone, dueAfter: "2026-12-24T09:59:00Z", dueBefore: "2026-12-24T10:00:00Z" },
        "tz=Pacific/Kiritimati&due_after=2026-12-24T09:59:00Z&due_before=2026-12-24T10:00:00Z",
      ),
    ).toEqual(["09:59Z 24th", "all-day 24th"]);
    // From the start of the 25th there: the 24th's all-day task is over.
    expect(
      await titlesMatching(
        user,
        { ...zone, dueAfter: "2026-12-24T10:00:00Z", dueBefore: "2026-12-26T00:00:00Z" },
        "tz=Pacific/Kiritimati&due_after=2026-12-24T10:00:00Z&due_before=2026-12-26T00:00:00Z",
      ),
    ).toEqual(["09:59Z 25th", "10:00Z 24th"]);
    // Before the 24th begins there: not yet.
    expect(
      await titlesMatching(
        user,
        { ...zone, dueAfter: "2026-12-01T00:00:00Z", dueBefore: "2026-12-23T10:00:00Z" },
        "tz=Pacific/Kiritimati&due_after=2026-12-01T00:00:00Z&due_before=2026-12-23T10:00:00Z",
      ),
    ).toEqual([]);
  });

  it("by priority, labels and whether there is a due date", async () => {
    expect(await titlesMatching(user, { priorities: ["URGENT"] }, "priority=urgent")).toEqual([
      "09:59Z 25th",
      "10:00Z 24th",
      "no due",
    ]);
    expect(await titlesMatching(user, { priorities: ["LOW", "HIGH"] }, "priority=low,high")).toEqual([
      "09:59Z 24th",
      "all-day 24th",
    ]);
    expect(await titlesMatching(user, { labels: { anyOf: ["HOME"] } }, "labels=HOME")).toEqual([
      "09:59Z 24th",
      "all-day 24th",
      "no due",
    ]);
    expect(await titlesMatching(user, { labels: { anyOf: ["home", "work"] } }, "labels=home&labels=work")).toEqual([
      "09:59Z 24th",
      "10:00Z 24th",
      "all-day 24th",
      "no due",
    ]);
    expect(await titlesMatching(user, { labels: { allOf: ["home", "work"] } }, "labels_all=home,work")).toEqual([
      "09:59Z 24th",
    ]);
    expect(await titlesMatching(user, { labels: { anyOf: ["nope"] } }, "labels=nope")).toEqual([]);
    expect(await titlesMatching(user, { hasDueDate: false }, "has_due=false")).toEqual(["no due"]);
    // REST: priorities in any case; an empty list filters nothing.
    expect(await titlesMatching(user, { priorities: ["URGENT"] }, "priority=Urgent")).toHaveLength(3);
    expect(await titlesMatching(user, {}, "priority=&labels=&labels_all=")).toHaveLength(8);
    expect(await titlesMatching(user, { hasDueDate: true }, "has_due=true")).toHaveLength(7);
  });

  it("overdue: open tasks past their instant, or past their whole day in the given zone", async () => {
    const person = await newUser("overdue");
    const now = new Date();
    // Yesterday in Kiritimati (UTC+14) is today in Adak (UTC-10, or -9 in summer): 23 or 24 hours behind.
    const kiritimatiYesterday = formatCalendarDate(addDays(dayOf(now, "Pacific/Kiritimati"), -1));
    const hour = 3_600_000;
    await create(person.token, { title: "all-day k-yesterday", due: { date: kiritimatiYesterday } });
    await create(person.token, { title: "an hour ago", due: { at: new Date(now.getTime() - hour).toISOString() } });
    await create(person.token, { title: "in an hour", due: { at: new Date(now.getTime() + hour).toISOString() } });
    await create(person.token, { title: "no due" });
    const done = await create(person.token, { title: "done, past due", due: { at: "2020-01-01T00:00:00Z" } });
    taskOf(await rest(t, "PATCH", `/api/${person.id}/tasks/${done.id}/complete`, { token: person.token }));

    expect(
      await titlesMatching(
        person,
        { overdue: true, timeZone: "Pacific/Kiritimati" },
        "overdue=true&tz=Pacific/Kiritimati",
      ),
    ).toEqual(["all-day k-yesterday", "an hour ago"]);
    expect(
      await titlesMatching(person, { overdue: true, timeZone: "America/Adak" }, "overdue=true&tz=America/Adak"),
    ).toEqual(["an hour ago"]);
    expect(
      await titlesMatching(person, { overdue: false, timeZone: "America/Adak" }, "overdue=false&tz=America/Adak"),
    ).toEqual(["all-day k-yesterday", "done, past due", "in an hour", "no due"]);
  });

  it("refuses a bad time zone or parameter with the field named", async () => {
    const response = await execute(t, ListTasks, { first: 1, filter: { timeZone: "Mars/Olympus" } }, user.token);
    expect(response400Field(response)).toBe("filter.timeZone");
    for (const [query, field] of [
      ["tz=Mars/Olympus", "tz"],
      ["due_on=2026-02-30", "due_on"],
      ["due_before=tomorrow", "due_before"],
      ["overdue=yes", "overdue"],
      ["has_due=1", "has_due"],
      ["priority=high,extreme", "priority"],
      [`labels=ok,${"x".repeat(51)}`, "labels"],
      [`labels_all=${"x".repeat(51)}`, "labels_all"],
      ["sort=due_date", "sort"],
    ]) {
      const error = errorOf(
        await rest(t, "GET", `/api/${user.id}/tasks?${query}`, { token: user.token }),
        400,
        "BAD_USER_INPUT",
      );
      expect(error.details?.[0]?.field, query).toBe(field);
    }
  });
});

describe("orders by due date and priority", () => {
  let user: { id: string; token: string };
  let all: TaskFieldsFragment[];
  beforeAll(async () => {
    user = await newUser("orders");
    const dues: (CreateTaskInput["due"] | undefined)[] = [
      { date: "2026-12-24" },
      { at: "2026-12-24T00:00:00Z" }, // the same instant as the all-day task's key: a tie
      { at: "2026-12-24T00:00:00Z" },
      { at: "2026-12-23T12:00:00Z" },
      { date: "2026-12-20" },
      { date: "2026-12-24" },
      undefined,
      undefined,
      { at: "2027-01-01T08:00:00+09:00" },
      undefined,
    ];
    const priorities = ["NONE", "URGENT", "LOW", "URGENT", "HIGH", "NONE", "URGENT", "MEDIUM", "LOW", "NONE"] as const;
    all = [];
    for (const [i, due] of dues.entries()) {
      all.push(await create(user.token, { title: `t${i}`, ...(due ? { due } : {}), priority: priorities[i] }));
    }
  });

  const dueKey = (task: TaskFieldsFragment) => (task.dueDate ? `${task.dueDate}T00:00:00.000Z` : task.dueAt);
  const priorityRank = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"];
  const byId = (a: TaskFieldsFragment, b: TaskFieldsFragment) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  /** The expected order, computed here from the tasks as created. */
  function expected(order: TaskOrder): string[] {
    const sign = order.direction === "DESC" ? -1 : 1;
    const sorted = [...all].sort((a, b) => {
      if (order.field === "PRIORITY") {
        const diff = priorityRank.indexOf(a.priority) - priorityRank.indexOf(b.priority);
        return sign * (diff || byId(a, b));
      }
      const [ka, kb] = [dueKey(a), dueKey(b)];
      if (ka == null || kb == null) {
        // Without a due date: last in either direction, among themselves by id.
        if (ka != null) return -1;
        if (kb != null) return 1;
        return sign * byId(a, b);
      }
      return sign * (ka < kb ? -1 : ka > kb ? 1 : byId(a, b));
    });
    return sorted.map((task) => task.title);
  }

  const orders: TaskOrder[] = [
    { field: "DUE", direction: "ASC" },
    { field: "DUE", direction: "DESC" },
    { field: "PRIORITY", direction: "ASC" },
    { field: "PRIORITY", direction: "DESC" },
  ];

  it.each(orders)("%j: every page size walks forward and backward through the same order", async (orderBy) => {
    const want = expected(orderBy);
    for (const size of [1, 3, 4, 10]) {
      const forward: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 20; page++) {
        const { tasks }: ListTasksQuery = dataOf(
          await execute(t, ListTasks, { first: size, after, orderBy }, user.token),
        );
        forward.push(...tasks.edges.map((edge) => edge.node.title));
        if (!tasks.pageInfo.hasNextPage) break;
        after = tasks.pageInfo.endCursor ?? null;
      }
      expect(forward, `forward by ${size}`).toEqual(want);

      const backward: string[] = [];
      let before: string | null = null;
      for (let page = 0; page < 20; page++) {
        const { tasks }: ListTasksQuery = dataOf(
          await execute(t, ListTasks, { last: size, before, orderBy }, user.token),
        );
        backward.unshift(...tasks.edges.map((edge) => edge.node.title));
        if (!tasks.pageInfo.hasPreviousPage) break;
        before = tasks.pageInfo.startCursor ?? null;
      }
      expect(backward, `backward by ${size}`).toEqual(want);
    }
  });

  it.each([
    ["due", { field: "DUE", direction: "ASC" }],
    ["-due", { field: "DUE", direction: "DESC" }],
    ["priority", { field: "PRIORITY", direction: "ASC" }],
    ["-priority", { field: "PRIORITY", direction: "DESC" }],
  ] as [string, TaskOrder][])("REST sort=%s pages through the same order", async (sort, orderBy) => {
    const titles: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 20; page++) {
      const query: string = `sort=${sort}&limit=3${cursor ? `&cursor=${cursor}` : ""}`;
      const list = listOf(await rest(t, "GET", `/api/${user.id}/tasks?${query}`, { token: user.token }));
      titles.push(...list.data.map((task) => task.title));
      cursor = list.meta.next_cursor;
      if (cursor === null) break;
    }
    expect(titles).toEqual(expected(orderBy));
  });

  it("a cursor of one order is refused by another", async () => {
    const { tasks } = dataOf(
      await execute(t, ListTasks, { first: 2, orderBy: { field: "DUE", direction: "ASC" } }, user.token),
    );
    const response = await execute(
      t,
      ListTasks,
      { first: 2, after: tasks.pageInfo.endCursor, orderBy: { field: "PRIORITY", direction: "ASC" } },
      user.token,
    );
    expect(response400Field(response)).toBe("after");
  });
});
