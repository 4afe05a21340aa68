import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListTasksQuery, TaskFieldsFragment, TypedDocumentString } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { dataOf, execute } from "./helpers/graphql.js";
import {
  CreateTask,
  DeleteTask,
  GetTask,
  ListTasks,
  SetTaskCompleted,
  ToggleTaskCompleted,
  UpdateTask,
} from "./helpers/operations.js";
import { asRest, errorOf, listOf, type RestTask, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * REST and GraphQL are two transports over one set of resolvers: whatever is
 * done through one must read back identically through the other.
 */

const byId = (a: RestTask, b: RestTask) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

async function user(name: string) {
  const id = `parity-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

/** Every task of the user, read through GraphQL (all pages), in REST's spelling. */
async function readAllThroughGraphQL(token: string): Promise<RestTask[]> {
  const tasks: RestTask[] = [];
  let after: string | null = null;
  for (;;) {
    const variables = { first: 100, after, orderBy: { field: "CREATED_AT", direction: "ASC" } } as const;
    const page: ListTasksQuery["tasks"] = dataOf(await execute(t, ListTasks, variables, token)).tasks;
    tasks.push(...page.edges.map((edge) => asRest(edge.node)));
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor ?? null;
  }
  return tasks.sort(byId);
}

/** Every task of the user, read through REST, and each one also through GET one. */
async function readAllThroughRest(u: { id: string; token: string }): Promise<RestTask[]> {
  const list = listOf(await rest(t, "GET", `/api/${u.id}/tasks?limit=1000&sort=created_at`, { token: u.token }));
  expect(list.meta.total).toBe(list.data.length);
  for (const task of list.data) {
    expect(taskOf(await rest(t, "GET", `/api/${u.id}/tasks/${task.id}`, { token: u.token }))).toEqual(task);
  }
  return [...list.data].sort(byId);
}

describe("written through REST, read through GraphQL", () => {
  it("gives identical state after create, replace, toggle, set completion and delete", async () => {
    const u = await user("rest-first");
    const path = `/api/${u.id}/tasks`;
    const post = async (body: Record<string, unknown>) =>
      taskOf(await rest(t, "POST", path, { token: u.token, body }), 201);

    // The latest state of each task as REST returned it, and the ids REST deleted.
    const latest = new Map<string, RestTask>();
    const keep = (task: RestTask) => {
      latest.set(task.id, task);
      return task;
    };
    const deleted: string[] = [];

    const a = keep(await post({ title: "write report", description: "quarterly" }));
    const b = keep(await post({ title: "call bob" }));
    const c = keep(await post({ title: "temporary", description: "to be deleted" }));
    const d = keep(await post({ title: "  padded  ", description: "" }));

    keep(
      taskOf(
        await rest(t, "PUT", `${path}/${a.id}`, {
          token: u.token,
          body: { title: "write the report", description: "quarterly, v2", is_completed: true },
        }),
      ),
    );
    keep(taskOf(await rest(t, "PATCH", `${path}/${b.id}/complete`, { token: u.token })));
    keep(taskOf(await rest(t, "PATCH", `${path}/${b.id}/complete`, { token: u.token })));
    keep(taskOf(await rest(t, "PATCH", `${path}/${b.id}/complete`, { token: u.token })));
    keep(taskOf(await rest(t, "PATCH", `${path}/${a.id}/complete`, { token: u.token, body: { is_completed: false } })));
    keep(taskOf(await rest(t, "PATCH", `${path}/${d.id}/complete`, { token: u.token, body: { is_completed: true } })));
    keep(taskOf(await rest(t, "PATCH", `${path}/${d.id}/complete`, { token: u.token, body: { is_completed: true } })));
    keep(taskOf(await rest(t, "PUT", `${path}/${d.id}`, { token: u.token, body: { title: "no longer padded" } })));
    expect((await rest(t, "DELETE", `${path}/${c.id}`, { token: u.token })).status).toBe(204);
    latest.delete(c.id);
    deleted.push(c.id);

    const expected = [...latest.values()].sort(byId);
    const stateOf = (id: string) => expected.find((task) => task.id === id);
    expect(stateOf(a.id)).toMatchObject({
      title: "write the report",
      description: "quarterly, v2",
      is_completed: false,
    });
    expect(stateOf(a.id)).toMatchObject({ completed_at: null, version: 3 });
    expect(stateOf(b.id)).toMatchObject({ title: "call bob", is_completed: true, version: 4 });
    expect(stateOf(d.id)).toMatchObject({
      title: "no longer padded",
      description: null,
      is_completed: true,
      version: 4,
    });
    expect(stateOf(c.id)).toBeUndefined();

    // Field by field, through the list and through task(id).
    const throughGraphQL = await readAllThroughGraphQL(u.token);
    expect(throughGraphQL).toEqual(expected);
    for (const task of expected) {
      const one = dataOf(await execute(t, GetTask, { id: task.id }, u.token)).task;
      expect(one === null ? null : asRest(one)).toEqual(task);
    }
    for (const id of deleted) {
      expect(dataOf(await execute(t, GetTask, { id }, u.token)).task).toBeNull();
    }
    // And REST itself reads back what it wrote.
    expect(await readAllThroughRest(u)).toEqual(expected);
  });
});

describe("written through GraphQL, read through REST", () => {
  it("gives identical state after create, update, toggle, set completion and delete", async () => {
    const u = await user("graphql-first");
    const latest = new Map<string, RestTask>();
    const keep = (task: TaskFieldsFragment) => {
      const restTask = asRest(task);
      latest.set(restTask.id, restTask);
      return restTask;
    };
    const run = <TResult, TVariables>(
      document: TypedDocumentString<TResult, TVariables>,
      variables: TVariables,
    ): Promise<TResult> => execute(t, document, variables, u.token).then(dataOf);

    const a = keep((await run(CreateTask, { input: { title: "plan trip", description: "summer" } })).createTask);
    const b = keep((await run(CreateTask, { input: { title: "buy tickets" } })).createTask);
    const c = keep((await run(CreateTask, { input: { title: "scratch" } })).createTask);
    const d = keep((await run(CreateTask, { input: { title: "pack", description: "bags" } })).createTask);

    keep((await run(UpdateTask, { id: a.id, input: { title: "plan the trip", isCompleted: true } })).updateTask);
    keep((await run(UpdateTask, { id: a.id, input: { description: null } })).updateTask);
    keep((await run(ToggleTaskCompleted, { id: b.id })).toggleTaskCompleted);
    keep((await run(ToggleTaskCompleted, { id: b.id })).toggleTaskCompleted);
    keep((await run(ToggleTaskCompleted, { id: b.id })).toggleTaskCompleted);
    keep((await run(SetTaskCompleted, { id: d.id, completed: true })).setTaskCompleted);
    keep((await run(SetTaskCompleted, { id: d.id, completed: true })).setTaskCompleted);
    keep((await run(SetTaskCompleted, { id: a.id, completed: false })).setTaskCompleted);
    expect((await run(DeleteTask, { id: c.id })).deleteTask.deletedTaskId).toBe(c.id);
    latest.delete(c.id);

    const expected = [...latest.values()].sort(byId);
    expect(expected.find((task) => task.id === a.id)).toMatchObject({
      title: "plan the trip",
      description: null,
      is_completed: false,
      completed_at: null,
      version: 4,
    });
    expect(expected.find((task) => task.id === b.id)).toMatchObject({ is_completed: true, version: 4 });
    expect(expected.find((task) => task.id === d.id)).toMatchObject({ is_completed: true, version: 3 });
    expect(expected.every((task) => task.user_id === u.id)).toBe(true);

    expect(await readAllThroughRest(u)).toEqual(expected);
    errorOf(await rest(t, "GET", `/api/${u.id}/tasks/${c.id}`, { token: u.token }), 404, "NOT_FOUND");
    // GraphQL agrees with itself, too.
    expect(await readAllThroughGraphQL(u.token)).toEqual(expected);
  });

  it("gives the same filtered and sorted lists through both APIs", async () => {
    const u = await user("lists");
    const titles = ["delta", "alpha", "charlie", "bravo", "echo"];
    for (const title of titles) {
      taskOf(
        await rest(t, "POST", `/api/${u.id}/tasks`, { token: u.token, body: { title, description: `about ${title}` } }),
        201,
      );
    }
    const all = await readAllThroughGraphQL(u.token);
    for (const task of all.filter((x) => x.title < "c")) {
      dataOf(await execute(t, SetTaskCompleted, { id: task.id, completed: true }, u.token));
    }
    const pending = listOf(await rest(t, "GET", `/api/${u.id}/tasks?status=pending&sort=title`, { token: u.token }));
    expect(pending.data.map((task) => task.title)).toEqual(["charlie", "delta", "echo"]);
    const completed = listOf(
      await rest(t, "GET", `/api/${u.id}/tasks?status=completed&sort=-title`, { token: u.token }),
    );
    expect(completed.data.map((task) => task.title)).toEqual(["bravo", "alpha"]);
    const viaGraphQL = await readAllThroughGraphQL(u.token);
    const viaRest = await readAllThroughRest(u);
    expect(viaRest).toEqual(viaGraphQL);
  });
});
