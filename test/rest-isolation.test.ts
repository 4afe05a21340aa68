import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { errorOf, listOf, type RestResponse, type RestTask, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * Alice and Bob, through REST: Alice can neither reach Bob's routes (403) nor,
 * through her own routes, Bob's tasks (404, exactly as for a task that does
 * not exist), and nothing she tries changes Bob's data.
 */

let t: TestApp;
const alice = { id: "alice-rest-isolation", token: "" };
const bob = { id: "bob-rest-isolation", token: "" };
let aliceTask: RestTask;
let bobTasks: RestTask[] = [];

const tasksPath = (user: string) => `/api/${user}/tasks`;
const taskPath = (user: string, id: string) => `${tasksPath(user)}/${id}`;
const completePath = (user: string, id: string) => `${taskPath(user, id)}/complete`;

/** Everything the database holds for a user: their row and their tasks. */
async function snapshot(userId: string) {
  const [user, tasks] = await Promise.all([
    t.db.prisma.user.findUnique({ where: { id: userId } }),
    t.db.prisma.task.findMany({ where: { userId }, orderBy: { id: "asc" } }),
  ]);
  return { user, tasks };
}

beforeAll(async () => {
  t = await startTestApp();
  alice.token = await mintToken(alice.id, { claims: { email: "alice@example.com" } });
  bob.token = await mintToken(bob.id, { claims: { email: "bob@example.com" } });
  aliceTask = taskOf(
    await rest(t, "POST", tasksPath(alice.id), { token: alice.token, body: { title: "alice's task" } }),
    201,
  );
  const open = taskOf(
    await rest(t, "POST", tasksPath(bob.id), {
      token: bob.token,
      body: { title: "bob's secret", description: "only bob" },
    }),
    201,
  );
  const done = taskOf(
    await rest(t, "POST", tasksPath(bob.id), { token: bob.token, body: { title: "bob's done task" } }),
    201,
  );
  bobTasks = [open, taskOf(await rest(t, "PATCH", completePath(bob.id, done.id), { token: bob.token }))];
});
afterAll(() => t.close());

/** One of Bob's tasks, as a value (never undefined once beforeAll has run). */
function bobTask(index: number): RestTask {
  const task = bobTasks[index];
  if (task === undefined) throw new Error(`Bob has no task ${index}`);
  return task;
}

describe("Alice's token on Bob's path", () => {
  it("is 403 on all six routes, and changes nothing of Bob's", async () => {
    const before = await snapshot(bob.id);
    const target = bobTask(0).id;
    const routes = [
      ["GET", tasksPath(bob.id), undefined],
      ["POST", tasksPath(bob.id), { title: "planted by alice" }],
      ["GET", taskPath(bob.id, target), undefined],
      ["PUT", taskPath(bob.id, target), { title: "renamed by alice" }],
      ["DELETE", taskPath(bob.id, target), undefined],
      ["PATCH", completePath(bob.id, target), undefined],
      ["PATCH", completePath(bob.id, target), { is_completed: true }],
    ] as const;
    for (const [method, path, body] of routes) {
      const options = { token: alice.token, headers: { "if-match": `"${bobTask(0).version}"` } };
      const res = await rest(t, method, path, body === undefined ? options : { ...options, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      const error = errorOf(res, 403, "FORBIDDEN");
      // Nothing of Bob's leaks into the answer.
      expect(res.text).not.toContain(target);
      expect(res.text).not.toContain("bob's secret");
      expect(error.details).toBeUndefined();
    }
    expect(await snapshot(bob.id)).toEqual(before);
    expect(await t.db.prisma.task.count({ where: { title: "planted by alice" } })).toBe(0);
  });

  it("is 403 even for a path that differs from Alice's id only in case or encoding", async () => {
    for (const path of [tasksPath(alice.id.toUpperCase()), tasksPath(`${alice.id}%20`), tasksPath(`%20${alice.id}`)]) {
      errorOf(await rest(t, "GET", path, { token: alice.token }), 403, "FORBIDDEN");
    }
  });
});

describe("Alice's path with Bob's task id", () => {
  /** Every route that takes a task id, as Alice, with an optional If-Match. */
  const routes = (id: string) =>
    [
      ["GET", taskPath(alice.id, id), undefined],
      ["PUT", taskPath(alice.id, id), { title: "renamed by alice", description: null, is_completed: true }],
      ["PATCH", completePath(alice.id, id), undefined],
      ["PATCH", completePath(alice.id, id), { is_completed: true }],
      ["PATCH", completePath(alice.id, id), { is_completed: false }],
      ["DELETE", taskPath(alice.id, id), undefined],
    ] as const;

  async function call(method: string, path: string, body: unknown, ifMatch?: string): Promise<RestResponse> {
    const headers = ifMatch === undefined ? {} : { "if-match": ifMatch };
    return rest(
      t,
      method,
      path,
      body === undefined ? { token: alice.token, headers } : { token: alice.token, headers, body },
    );
  }

  it("is 404 on GET, PUT, PATCH and DELETE, with the same body as a random missing id", async () => {
    const before = await snapshot(bob.id);
    for (const bobsTask of bobTasks) {
      const missing = randomUUID();
      const theirs = routes(bobsTask.id);
      const nobodys = routes(missing);
      for (const [index, [method, path, body]] of theirs.entries()) {
        const res = await call(method, path, body);
        const error = errorOf(res, 404, "NOT_FOUND");
        const [, missingPath, missingBody] = nobodys[index] ?? [];
        const control = await call(method, missingPath ?? "", missingBody);
        errorOf(control, 404, "NOT_FOUND");
        expect(res.body, `${method} ${path}`).toEqual(control.body);
        expect(error.message).toBe("Task not found.");
        expect(res.headers.get("etag")).toBeNull();
      }
    }
    expect(await snapshot(bob.id)).toEqual(before);
  });

  it("is 404, not 412, with If-Match: Bob's current ETag or any other, so versions do not leak either", async () => {
    const before = await snapshot(bob.id);
    const task = bobTask(1);
    for (const ifMatch of [`"${task.version}"`, `"${task.version + 1}"`, "*"]) {
      for (const [method, path, body] of routes(task.id)) {
        if (method === "GET") continue;
        const res = await call(method, path, body, ifMatch);
        const control = await call(method, path.replace(task.id, randomUUID()), body, ifMatch);
        errorOf(res, 404, "NOT_FOUND");
        expect(res.body, `${method} ${path} If-Match: ${ifMatch}`).toEqual(control.body);
      }
    }
    expect(await snapshot(bob.id)).toEqual(before);
  });

  it("never shows Bob's tasks in Alice's list, whatever the filter, search or order", async () => {
    for (const query of ["", "?status=completed", "?status=pending", "?q=bob", "?q=secret", "?sort=title&limit=1000"]) {
      const list = listOf(await rest(t, "GET", `${tasksPath(alice.id)}${query}`, { token: alice.token }));
      expect(list.data.every((task) => task.user_id === alice.id)).toBe(true);
      const ids = list.data.map((task) => task.id);
      for (const bobsTask of bobTasks) expect(ids).not.toContain(bobsTask.id);
      expect(list.meta.total).toBe(list.data.length);
    }
  });

  it("cannot take Bob's task by naming it or him in a body", async () => {
    const before = await snapshot(bob.id);
    const created = taskOf(
      await rest(t, "POST", tasksPath(alice.id), {
        token: alice.token,
        body: { title: "mine", id: bobTask(0).id, user_id: bob.id },
      }),
      201,
    );
    expect(created.id).not.toBe(bobTask(0).id);
    expect(created.user_id).toBe(alice.id);
    const replaced = taskOf(
      await rest(t, "PUT", taskPath(alice.id, aliceTask.id), {
        token: alice.token,
        body: { title: "still mine", id: bobTask(0).id, user_id: bob.id },
      }),
    );
    expect(replaced).toMatchObject({ id: aliceTask.id, user_id: alice.id, title: "still mine" });
    expect(await snapshot(bob.id)).toEqual(before);
    expect(await t.db.prisma.task.count({ where: { userId: alice.id } })).toBe(2);
  });

  it("leaves Bob's tasks exactly as Bob sees them", async () => {
    const list = listOf(await rest(t, "GET", tasksPath(bob.id), { token: bob.token }));
    const byId = (a: RestTask, b: RestTask) => (a.id < b.id ? -1 : 1);
    expect([...list.data].sort(byId)).toEqual([...bobTasks].sort(byId));
    for (const task of bobTasks) {
      expect(taskOf(await rest(t, "GET", taskPath(bob.id, task.id), { token: bob.token }))).toEqual(task);
    }
  });
});
