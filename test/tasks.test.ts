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
import { mintToken } from "./helpers/tokens.js";

/** Every task query and mutation, one at a time, through HTTP, on a real database. */

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What a response must never show: SQL, Prisma, driver or stack details. */
function expectNothingLeaked(text: string): void {
  expect(text).not.toMatch(/prisma/i);
  expect(text).not.toMatch(/\b(SELECT|INSERT INTO|DELETE FROM|UPDATE tasks|RETURNING|WHERE)\b/);
  expect(text).not.toMatch(/\bat\s+(?:\S+\s+\()?(?:file:\/\/|node:|\/)[^"\s]*:\d+:\d+/);
  expect(text).not.toMatch(/\\n\s+at\s/);
  expect(text).not.toMatch(/"stack"|"originalError"|"exception"/);
  expect(text).not.toMatch(/tasks_\w+|violates|syntax for type|invalid byte sequence|driverAdapter/i);
}

/** An error response: exactly one error with this code, this HTTP status, no data and no internals. */
function expectError(res: GraphQLResponse<unknown>, code: string, status: number): GraphQLErrorBody {
  expect(codesOf(res)).toEqual([code]);
  expect(res.status).toBe(status);
  // No data at all, or (for a nullable root field) only nulls.
  const data: unknown = res.data ?? null;
  if (data !== null) expect(Object.values(data as Record<string, unknown>)).toEqual([null]);
  expectNothingLeaked(res.text);
  const [error] = res.errors ?? [];
  if (!error) throw new Error("no error in the response");
  return error;
}

function fieldsOf(error: GraphQLErrorBody): string[] {
  return (error.extensions?.details ?? []).map((detail) => detail.field);
}

describe("tasks: queries and mutations", () => {
  let t: TestApp;
  let token: string;
  const owner = "tasks-owner";

  async function create(title: string, description?: string | null) {
    const input = description === undefined ? { title } : { title, description };
    return dataOf(await execute(t, CreateTask, { input }, token)).createTask;
  }

  const row = (id: string) => t.db.prisma.task.findUnique({ where: { id } });
  const taskCount = () => t.db.prisma.task.count();

  /** Puts updated_at in the past, so that a bump by the next write is visible whatever the clock. */
  async function age(id: string) {
    const past = new Date("2020-01-01T00:00:00.000Z");
    await t.db.prisma.task.update({ where: { id }, data: { updatedAt: past } });
    expect((await row(id))?.updatedAt.toISOString()).toBe(past.toISOString());
    return past;
  }

  beforeAll(async () => {
    t = await startTestApp();
    token = await mintToken(owner, { claims: { email: "owner@example.com" } });
  });
  afterAll(() => t.close());

  describe("createTask", () => {
    it("trims the title, stores an empty description as null, starts at version 1, owned by the caller", async () => {
      const res = await execute(t, CreateTask, { input: { title: "  Buy milk  ", description: "" } }, token);
      expect(res.status).toBe(200);
      const task = dataOf(res).createTask;
      expect(task).toMatchObject({
        title: "Buy milk",
        description: null,
        isCompleted: false,
        completedAt: null,
        version: 1,
        owner: { id: owner },
      });
      expect(task.id).toMatch(uuidPattern);
      expect(task.createdAt).toBe(task.updatedAt);
      expect(new Date(task.createdAt).toISOString()).toBe(task.createdAt);

      const stored = await row(task.id);
      expect(stored).toMatchObject({ userId: owner, title: "Buy milk", description: null, version: 1 });
    });

    it("stores a whitespace-only description as null and keeps a real one", async () => {
      expect((await create("blank description", "   ")).description).toBeNull();
      expect((await create("no description")).description).toBeNull();
      expect((await create("explicit null", null)).description).toBeNull();
      expect((await create("with description", "two litres")).description).toBe("two litres");
    });

    it("accepts a title of exactly 200 characters (after trimming)", async () => {
      const title = "x".repeat(200);
      expect((await create(title)).title).toBe(title);
      expect((await create(`   ${title}   `)).title).toBe(title);
    });

    it("refuses a title of 201 characters: 400, BAD_USER_INPUT on input.title, nothing written", async () => {
      const before = await taskCount();
      const res = await execute(t, CreateTask, { input: { title: "y".repeat(201) } }, token);
      const error = expectError(res, "BAD_USER_INPUT", 400);
      expect(fieldsOf(error)).toEqual(["input.title"]);
      expect(await taskCount()).toBe(before);
    });

    it("refuses an empty or whitespace-only title", async () => {
      const before = await taskCount();
      for (const title of ["", "   ", "\t\n "]) {
        const res = await execute(t, CreateTask, { input: { title } }, token);
        const error = expectError(res, "BAD_USER_INPUT", 400);
        expect(fieldsOf(error)).toEqual(["input.title"]);
      }
      expect(await taskCount()).toBe(before);
    });

    it("accepts a description of 1000 characters and refuses 1001", async () => {
      const description = "d".repeat(1000);
      expect((await create("long description", description)).description).toBe(description);

      const before = await taskCount();
      const res = await execute(t, CreateTask, { input: { title: "too long", description: "e".repeat(1001) } }, token);
      const error = expectError(res, "BAD_USER_INPUT", 400);
      expect(fieldsOf(error)).toEqual(["input.description"]);
      expect(await taskCount()).toBe(before);
    });

    it("refuses a title containing a NUL character as bad input, not as an internal error", async () => {
      const before = await taskCount();
      const res = await execute(t, CreateTask, { input: { title: "a\u0000b" } }, token);
      expectNothingLeaked(res.text);
      expect(codesOf(res)).not.toContain("INTERNAL_SERVER_ERROR");
      expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
      expect(res.status).toBe(400);
      expect(await taskCount()).toBe(before);
    });
  });

  describe("task(id) and lists", () => {
    it("returns the caller's own task with every field", async () => {
      const created = await create("Read me", "details");
      const res = await execute(t, GetTask, { id: created.id }, token);
      expect(res.status).toBe(200);
      expect(dataOf(res).task).toEqual(created);
    });

    it("accepts an upper-case UUID for the caller's task", async () => {
      const created = await create("Upper case id");
      expect(dataOf(await execute(t, GetTask, { id: created.id.toUpperCase() }, token)).task?.id).toBe(created.id);
    });

    it("answers null, without error, for a UUID that is no task", async () => {
      const res = await execute(t, GetTask, { id: randomUUID() }, token);
      expect(res.status).toBe(200);
      expect(res.errors).toBeUndefined();
      expect(res.data).toEqual({ task: null });
    });

    it("refuses a malformed id with BAD_USER_INPUT, never an internal error", async () => {
      for (const id of [
        "not-a-uuid",
        "123",
        "",
        "' OR 1=1 --",
        `${randomUUID()}x`,
        "0000000g-0000-0000-0000-000000000000",
      ]) {
        const res = await execute(t, GetTask, { id }, token);
        expect(codesOf(res)).not.toContain("INTERNAL_SERVER_ERROR");
        const error = expectError(res, "BAD_USER_INPUT", 400);
        expect(fieldsOf(error)).toEqual(["id"]);
      }
    });

    it("lists the caller's tasks through tasks and viewer.tasks alike", async () => {
      const lister = await mintToken("tasks-lister");
      const first = dataOf(await execute(t, CreateTask, { input: { title: "one" } }, lister)).createTask;
      const second = dataOf(await execute(t, CreateTask, { input: { title: "two" } }, lister)).createTask;
      const data = dataOf(await execute(t, ListTasksWithViewer, {}, lister));
      expect(data.tasks.totalCount).toBe(2);
      expect(new Set(data.tasks.edges.map((edge) => edge.node.id))).toEqual(new Set([first.id, second.id]));
      expect(data.tasks.edges.every((edge) => edge.node.owner.id === "tasks-lister")).toBe(true);
      expect(data.viewer.id).toBe("tasks-lister");
      expect(data.viewer.tasks.totalCount).toBe(2);
      expect(data.viewer.tasks.edges.map((edge) => edge.node.id)).toEqual(data.tasks.edges.map((edge) => edge.node.id));
    });
  });

  describe("updateTask", () => {
    it("changes only the title (trimmed), bumping version by one and updatedAt", async () => {
      const created = await create("old title", "keep me");
      const past = await age(created.id);
      const updated = dataOf(await execute(t, UpdateTask, { id: created.id, input: { title: "  new title " } }, token));
      expect(updated.updateTask).toMatchObject({
        id: created.id,
        title: "new title",
        description: "keep me",
        isCompleted: false,
        completedAt: null,
        version: 2,
        createdAt: created.createdAt,
        owner: { id: owner },
      });
      expect(new Date(updated.updateTask.updatedAt).getTime()).toBeGreaterThan(past.getTime());
      expect(await row(created.id)).toMatchObject({ title: "new title", description: "keep me", version: 2 });
    });

    it("changes only the description", async () => {
      const created = await create("title stays", "old");
      const past = await age(created.id);
      const { updateTask } = dataOf(
        await execute(t, UpdateTask, { id: created.id, input: { description: "new" } }, token),
      );
      expect(updateTask).toMatchObject({ title: "title stays", description: "new", version: 2 });
      expect(new Date(updateTask.updatedAt).getTime()).toBeGreaterThan(past.getTime());
    });

    it("clears the description with null (and with an empty string)", async () => {
      const created = await create("clear me", "something");
      const cleared = dataOf(await execute(t, UpdateTask, { id: created.id, input: { description: null } }, token));
      expect(cleared.updateTask).toMatchObject({ title: "clear me", description: null, version: 2 });
      expect((await row(created.id))?.description).toBeNull();

      await execute(t, UpdateTask, { id: created.id, input: { description: "again" } }, token);
      const emptied = dataOf(await execute(t, UpdateTask, { id: created.id, input: { description: "" } }, token));
      expect(emptied.updateTask).toMatchObject({ description: null, version: 4 });
    });

    it("isCompleted true sets completedAt, false clears it, each a version bump", async () => {
      const created = await create("complete me");
      await age(created.id);
      const done = dataOf(
        await execute(t, UpdateTask, { id: created.id, input: { isCompleted: true } }, token),
      ).updateTask;
      expect(done).toMatchObject({ isCompleted: true, version: 2, title: "complete me" });
      expect(done.completedAt).not.toBeNull();
      expect(done.completedAt).toBe(done.updatedAt);
      expect(new Date(done.completedAt ?? 0).getTime()).toBeGreaterThanOrEqual(new Date(created.createdAt).getTime());

      const past = await age(created.id);
      const open = dataOf(
        await execute(t, UpdateTask, { id: created.id, input: { isCompleted: false } }, token),
      ).updateTask;
      expect(open).toMatchObject({ isCompleted: false, completedAt: null, version: 3 });
      expect(new Date(open.updatedAt).getTime()).toBeGreaterThan(past.getTime());
      expect(await row(created.id)).toMatchObject({ isCompleted: false, completedAt: null, version: 3 });
    });

    it("changes several fields in one step and one version", async () => {
      const created = await create("several");
      const { updateTask } = dataOf(
        await execute(
          t,
          UpdateTask,
          { id: created.id, input: { title: "renamed", description: "added", isCompleted: true } },
          token,
        ),
      );
      expect(updateTask).toMatchObject({ title: "renamed", description: "added", isCompleted: true, version: 2 });
    });

    it("refuses an empty input (and a null title alone) with BAD_USER_INPUT, changing nothing", async () => {
      const created = await create("untouched");
      const before = await row(created.id);
      expectError(await execute(t, UpdateTask, { id: created.id, input: {} }, token), "BAD_USER_INPUT", 400);
      expectError(
        await execute(t, UpdateTask, { id: created.id, input: { title: null } }, token),
        "BAD_USER_INPUT",
        400,
      );
      expectError(
        await execute(t, UpdateTask, { id: created.id, input: { expectedVersion: 1 } }, token),
        "BAD_USER_INPUT",
        400,
      );
      expect(await row(created.id)).toEqual(before);
    });

    it("refuses a blank or too long title and a too long description, changing nothing", async () => {
      const created = await create("valid");
      const before = await row(created.id);
      const blank = expectError(
        await execute(t, UpdateTask, { id: created.id, input: { title: "   " } }, token),
        "BAD_USER_INPUT",
        400,
      );
      expect(fieldsOf(blank)).toEqual(["input.title"]);
      const long = expectError(
        await execute(t, UpdateTask, { id: created.id, input: { title: "z".repeat(201) } }, token),
        "BAD_USER_INPUT",
        400,
      );
      expect(fieldsOf(long)).toEqual(["input.title"]);
      const description = expectError(
        await execute(t, UpdateTask, { id: created.id, input: { description: "z".repeat(1001) } }, token),
        "BAD_USER_INPUT",
        400,
      );
      expect(fieldsOf(description)).toEqual(["input.description"]);
      expect(await row(created.id)).toEqual(before);
    });

    it("applies the update when expectedVersion matches", async () => {
      const created = await create("versioned");
      const v2 = dataOf(
        await execute(t, UpdateTask, { id: created.id, input: { title: "v2", expectedVersion: 1 } }, token),
      );
      expect(v2.updateTask).toMatchObject({ title: "v2", version: 2 });
      const v3 = dataOf(
        await execute(t, UpdateTask, { id: created.id, input: { title: "v3", expectedVersion: 2 } }, token),
      );
      expect(v3.updateTask).toMatchObject({ title: "v3", version: 3 });
    });

    it("refuses a stale expectedVersion: 409 CONFLICT, and the row is unchanged", async () => {
      const created = await create("contended");
      await execute(t, UpdateTask, { id: created.id, input: { title: "moved on" } }, token);
      const before = await row(created.id);
      expect(before?.version).toBe(2);

      const res = await execute(
        t,
        UpdateTask,
        { id: created.id, input: { title: "stale write", expectedVersion: 1 } },
        token,
      );
      const error = expectError(res, "CONFLICT", 409);
      expect(error.message).toMatch(/version 2/);
      expect(await row(created.id)).toEqual(before);
    });

    it("refuses expectedVersion below 1 as bad input", async () => {
      const created = await create("version zero");
      const res = await execute(t, UpdateTask, { id: created.id, input: { title: "x", expectedVersion: 0 } }, token);
      expectError(res, "BAD_USER_INPUT", 400);
      expect((await row(created.id))?.title).toBe("version zero");
    });

    it("answers NOT_FOUND (404) for a missing task, with or without expectedVersion", async () => {
      const id = randomUUID();
      expectError(await execute(t, UpdateTask, { id, input: { title: "x" } }, token), "NOT_FOUND", 404);
      expectError(
        await execute(t, UpdateTask, { id, input: { title: "x", expectedVersion: 1 } }, token),
        "NOT_FOUND",
        404,
      );
      expect(await row(id)).toBeNull();
    });

    it("refuses a malformed id with BAD_USER_INPUT", async () => {
      const error = expectError(
        await execute(t, UpdateTask, { id: "nope", input: { title: "x" } }, token),
        "BAD_USER_INPUT",
        400,
      );
      expect(fieldsOf(error)).toEqual(["id"]);
    });
  });

  describe("setTaskCompleted", () => {
    it("completes a task; completing it again keeps the first completedAt", async () => {
      const created = await create("finish once");
      const first = dataOf(
        await execute(t, SetTaskCompleted, { id: created.id, completed: true }, token),
      ).setTaskCompleted;
      expect(first).toMatchObject({ isCompleted: true, version: 2 });
      expect(first.completedAt).not.toBeNull();

      // Pin the first completion to a known instant, so that "kept" cannot be confused with "set again".
      const completedAt = new Date("2021-06-01T12:00:00.000Z");
      await t.db.prisma.task.update({ where: { id: created.id }, data: { completedAt } });

      const again = dataOf(
        await execute(t, SetTaskCompleted, { id: created.id, completed: true }, token),
      ).setTaskCompleted;
      expect(again).toMatchObject({ isCompleted: true, version: 3, completedAt: completedAt.toISOString() });
      expect((await row(created.id))?.completedAt?.toISOString()).toBe(completedAt.toISOString());
    });

    it("reopens a task: completedAt back to null", async () => {
      const created = await create("reopen");
      await execute(t, SetTaskCompleted, { id: created.id, completed: true }, token);
      const reopened = dataOf(
        await execute(t, SetTaskCompleted, { id: created.id, completed: false }, token),
      ).setTaskCompleted;
      expect(reopened).toMatchObject({ isCompleted: false, completedAt: null, version: 3 });
    });

    it("honours expectedVersion: matching applies, stale is a CONFLICT that changes nothing", async () => {
      const created = await create("guarded completion");
      const ok = dataOf(
        await execute(t, SetTaskCompleted, { id: created.id, completed: true, expectedVersion: 1 }, token),
      );
      expect(ok.setTaskCompleted.version).toBe(2);
      const before = await row(created.id);
      const res = await execute(t, SetTaskCompleted, { id: created.id, completed: false, expectedVersion: 1 }, token);
      expectError(res, "CONFLICT", 409);
      expect(await row(created.id)).toEqual(before);
    });

    it("answers NOT_FOUND for a missing task and BAD_USER_INPUT for a malformed id", async () => {
      expectError(await execute(t, SetTaskCompleted, { id: randomUUID(), completed: true }, token), "NOT_FOUND", 404);
      expectError(await execute(t, SetTaskCompleted, { id: "1", completed: true }, token), "BAD_USER_INPUT", 400);
    });
  });

  describe("toggleTaskCompleted", () => {
    it("toggled twice, a task is open again with completedAt null and two versions later", async () => {
      const created = await create("toggle me");
      const once = dataOf(await execute(t, ToggleTaskCompleted, { id: created.id }, token)).toggleTaskCompleted;
      expect(once).toMatchObject({ isCompleted: true, version: 2 });
      expect(once.completedAt).not.toBeNull();
      const twice = dataOf(await execute(t, ToggleTaskCompleted, { id: created.id }, token)).toggleTaskCompleted;
      expect(twice).toMatchObject({ isCompleted: false, completedAt: null, version: 3, title: "toggle me" });
      expect(await row(created.id)).toMatchObject({ isCompleted: false, completedAt: null, version: 3 });
    });

    it("honours expectedVersion", async () => {
      const created = await create("guarded toggle");
      expect(
        dataOf(await execute(t, ToggleTaskCompleted, { id: created.id, expectedVersion: 1 }, token))
          .toggleTaskCompleted,
      ).toMatchObject({ isCompleted: true, version: 2 });
      const before = await row(created.id);
      expectError(
        await execute(t, ToggleTaskCompleted, { id: created.id, expectedVersion: 1 }, token),
        "CONFLICT",
        409,
      );
      expect(await row(created.id)).toEqual(before);
    });

    it("answers NOT_FOUND for a missing task", async () => {
      expectError(await execute(t, ToggleTaskCompleted, { id: randomUUID() }, token), "NOT_FOUND", 404);
    });
  });

  describe("concurrency", () => {
    it("10 concurrent toggles are all applied: version 1 + 10, completion flipped 10 times", async () => {
      const created = await create("toggled concurrently");
      const results = await Promise.all(
        Array.from({ length: 10 }, () => execute(t, ToggleTaskCompleted, { id: created.id }, token)),
      );
      for (const res of results) {
        expect(res.errors).toBeUndefined();
        expect(res.status).toBe(200);
      }
      const versions = results.map((res) => dataOf(res).toggleTaskCompleted.version).sort((a, b) => a - b);
      expect(versions).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
      // Each toggle saw the one before it: odd versions were completing ones.
      for (const res of results) {
        const task = dataOf(res).toggleTaskCompleted;
        expect(task.isCompleted).toBe(task.version % 2 === 0);
        expect(task.completedAt === null).toBe(!task.isCompleted);
      }
      const stored = await row(created.id);
      expect(stored?.version).toBe(1 + 10);
      expect(stored?.isCompleted).toBe(10 % 2 === 1);
      expect(stored?.completedAt ?? null).toBeNull();
    });

    it("concurrent updates with the same expectedVersion: exactly one wins, the others get CONFLICT", async () => {
      const created = await create("raced");
      const titles = Array.from({ length: 8 }, (_, i) => `writer ${i}`);
      const results = await Promise.all(
        titles.map((title) => execute(t, UpdateTask, { id: created.id, input: { title, expectedVersion: 1 } }, token)),
      );
      const winners = results.filter((res) => res.errors === undefined);
      const losers = results.filter((res) => res.errors !== undefined);
      expect(winners).toHaveLength(1);
      expect(losers).toHaveLength(titles.length - 1);
      for (const res of losers) expectError(res, "CONFLICT", 409);
      for (const res of results) expect(res.status).toBeLessThan(500);

      const [winner] = winners;
      if (!winner) throw new Error("no winner");
      const won = dataOf(winner).updateTask;
      expect(won.version).toBe(2);
      expect(await row(created.id)).toMatchObject({ title: won.title, version: 2 });
    });
  });

  describe("deleteTask", () => {
    it("deletes and returns deletedTaskId; a second delete is NOT_FOUND (404)", async () => {
      const created = await create("delete me");
      const res = await execute(t, DeleteTask, { id: created.id }, token);
      expect(res.status).toBe(200);
      expect(dataOf(res).deleteTask).toEqual({ deletedTaskId: created.id });
      expect(await row(created.id)).toBeNull();
      expect(dataOf(await execute(t, GetTask, { id: created.id }, token)).task).toBeNull();

      const again = await execute(t, DeleteTask, { id: created.id }, token);
      const error = expectError(again, "NOT_FOUND", 404);
      expect(error.message).toBe("Task not found.");
    });

    it("honours expectedVersion: stale is a CONFLICT that keeps the task, matching deletes it", async () => {
      const created = await create("guarded delete");
      await execute(t, ToggleTaskCompleted, { id: created.id }, token);
      const before = await row(created.id);
      expectError(await execute(t, DeleteTask, { id: created.id, expectedVersion: 1 }, token), "CONFLICT", 409);
      expect(await row(created.id)).toEqual(before);
      const res = await execute(t, DeleteTask, { id: created.id, expectedVersion: 2 }, token);
      expect(dataOf(res).deleteTask.deletedTaskId).toBe(created.id);
      expect(await row(created.id)).toBeNull();
    });

    it("refuses a malformed id with BAD_USER_INPUT", async () => {
      expectError(await execute(t, DeleteTask, { id: "42" }, token), "BAD_USER_INPUT", 400);
    });
  });

  describe("without a token", () => {
    it("every mutation is 401 UNAUTHENTICATED and writes nothing", async () => {
      const created = await create("guarded by auth");
      const before = await row(created.id);
      const count = await taskCount();
      const attempts: GraphQLResponse<unknown>[] = [
        await execute(t, CreateTask, { input: { title: "anonymous" } }),
        await execute(t, UpdateTask, { id: created.id, input: { title: "anonymous" } }),
        await execute(t, SetTaskCompleted, { id: created.id, completed: true }),
        await execute(t, ToggleTaskCompleted, { id: created.id }),
        await execute(t, DeleteTask, { id: created.id }),
      ];
      for (const res of attempts) {
        expectError(res, "UNAUTHENTICATED", 401);
        expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      }
      expect(await taskCount()).toBe(count);
      expect(await row(created.id)).toEqual(before);
      expect(await t.db.prisma.task.count({ where: { title: "anonymous" } })).toBe(0);
    });

    it("queries are 401 UNAUTHENTICATED too", async () => {
      const created = await create("private");
      expectError(await execute(t, GetTask, { id: created.id }), "UNAUTHENTICATED", 401);
      expectError(await execute(t, ListTasksWithViewer, {}), "UNAUTHENTICATED", 401);
    });

    it("a token signed with another secret is refused the same way, writing nothing", async () => {
      const forged = await mintToken(owner, { secret: "another-secret-that-is-at-least-32-bytes" });
      const count = await taskCount();
      expectError(await execute(t, CreateTask, { input: { title: "forged" } }, forged), "UNAUTHENTICATED", 401);
      expect(await taskCount()).toBe(count);
    });
  });

  describe("unexpected errors", () => {
    it("are masked: a generic message, INTERNAL_SERVER_ERROR, and no SQL, Prisma or stack in the response", async () => {
      // A rule the service does not know about makes the database refuse one title.
      await t.db.prisma.$executeRawUnsafe(
        `ALTER TABLE tasks ADD CONSTRAINT tasks_spec_no_boom CHECK (title <> 'boom')`,
      );
      try {
        const count = await taskCount();
        const res = await execute(t, CreateTask, { input: { title: "boom" } }, token);
        const error = expectError(res, "INTERNAL_SERVER_ERROR", 500);
        expect(error.message).toBe("Unexpected error.");
        expect(res.text).not.toContain("tasks_spec_no_boom");
        expect(res.text).not.toContain("boom'");
        expect(await taskCount()).toBe(count);
      } finally {
        await t.db.prisma.$executeRawUnsafe(`ALTER TABLE tasks DROP CONSTRAINT tasks_spec_no_boom`);
      }
    });
  });
});
