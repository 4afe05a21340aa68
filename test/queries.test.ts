import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { dataOf, execute } from "./helpers/graphql.js";
import {
  AddTaskLabels,
  CreateLabel,
  CreateTask,
  GetTask,
  GetTaskTitle,
  ListTasks,
  ListTasksAtHead,
  ListTaskTitles,
  RemoveTaskLabels,
  ToggleTaskCompletedBrief,
  UpdateLabel,
  ViewerId,
  ViewerWithTasks,
} from "./helpers/operations.js";
import { listOf, rest } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/** What reaches the database: persistence across app instances, and how many SQL statements a request costs. */

const mentionsUsers = (sql: string) => /\bFROM\s+("public"\.)?"?users"?|\bJOIN\s+("public"\.)?"?users"?/i.test(sql);

/** The statements `run` (one request) sent through `t`. */
async function statementsSent(t: TestApp, run: () => Promise<unknown>): Promise<string[]> {
  t.queries.length = 0;
  await run();
  return [...t.queries];
}

describe("persistence", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("a task created through one app instance is read back, and changed, through a fresh one on the same database", async () => {
    const token = await mintToken("persistent", { claims: { email: "keep@example.com" } });
    const created = dataOf(
      await execute(t, CreateTask, { input: { title: "  survive a restart ", description: "kept" } }, token),
    ).createTask;

    const second = await startTestApp({}, t.database);
    try {
      // A new instance: its own client, its own token cache, nothing shared but the database.
      expect(second.db.prisma).not.toBe(t.db.prisma);
      const again = await mintToken("persistent", { claims: { email: "keep@example.com" }, expiresIn: 1200 });
      expect(dataOf(await execute(second, GetTask, { id: created.id }, again)).task).toEqual({
        ...created,
        title: "survive a restart",
      });
      expect(second.queries.some((sql) => /\bFROM\s+("public"\.)?"?tasks"?\b/.test(sql))).toBe(true);

      const toggled = dataOf(
        await execute(second, ToggleTaskCompletedBrief, { id: created.id }, again),
      ).toggleTaskCompleted;
      expect(toggled).toEqual({ id: created.id, isCompleted: true, version: 2 });
    } finally {
      await second.close();
    }

    // The first instance sees the second one's write, and still works after the second closed.
    const seen = dataOf(await execute(t, GetTask, { id: created.id }, token)).task;
    expect(seen).toMatchObject({ id: created.id, isCompleted: true, version: 2, owner: { id: "persistent" } });
    expect(await t.db.prisma.task.findUnique({ where: { id: created.id } })).toMatchObject({
      userId: "persistent",
      title: "survive a restart",
      description: "kept",
      version: 2,
    });
  });
});

describe("SQL statements per request", () => {
  let t: TestApp;
  const tokens = new Map<number, string>();

  beforeAll(async () => {
    t = await startTestApp();
    for (const size of [5, 50]) {
      const user = `statements-${size}`;
      const token = await mintToken(user, { claims: { email: `${user}@example.com` } });
      // The first request with a token makes the user; later ones are served from the token cache.
      expect(dataOf(await execute(t, ViewerId, {}, token)).viewer.id).toBe(user);
      await t.db.prisma.task.createMany({
        data: Array.from({ length: size }, (_, i) => ({ userId: user, title: `task ${i}` })),
      });
      tokens.set(size, token);
    }
  });
  afterAll(() => t.close());

  const tokenFor = (size: number) => {
    const token = tokens.get(size);
    if (!token) throw new Error(`no user with ${size} tasks`);
    return token;
  };

  const statementsOf = (run: () => Promise<unknown>) => statementsSent(t, run);

  it("a page of tasks with their owner costs the same few statements for 5 tasks as for 50", async () => {
    const counts: number[] = [];
    for (const size of [5, 50]) {
      let edges = 0;
      const statements = await statementsOf(async () => {
        const data = dataOf(await execute(t, ListTasks, { first: 50 }, tokenFor(size)));
        edges = data.tasks.edges.length;
        expect(data.tasks.totalCount).toBe(size);
        for (const edge of data.tasks.edges) {
          expect(edge.node.owner).toEqual({ id: `statements-${size}`, email: `statements-${size}@example.com` });
        }
      });
      expect(edges).toBe(size);
      expect(statements.filter(mentionsUsers).length).toBeLessThanOrEqual(1);
      counts.push(statements.length);
    }
    expect(counts[0]).toBe(counts[1]);
    expect(counts[1]).toBeLessThanOrEqual(3);
  });

  it("viewer.tasks with each task's owner costs the same few statements for 5 tasks as for 50", async () => {
    const counts: number[] = [];
    for (const size of [5, 50]) {
      const statements = await statementsOf(async () => {
        const data = dataOf(await execute(t, ViewerWithTasks, { first: 50 }, tokenFor(size)));
        expect(data.viewer.tasks.edges).toHaveLength(size);
        expect(data.viewer.tasks.edges.every((edge) => edge.node.owner.id === data.viewer.id)).toBe(true);
      });
      counts.push(statements.length);
    }
    expect(counts[0]).toBe(counts[1]);
    expect(counts[1]).toBeLessThanOrEqual(3);
  });

  it("a task with only id and title selected does not query users", async () => {
    const token = tokenFor(5);
    const id = dataOf(await execute(t, ListTaskTitles, { first: 1 }, token)).tasks.edges[0]?.node.id;
    if (!id) throw new Error("no task");

    const plain = await statementsOf(async () => {
      expect(dataOf(await execute(t, GetTaskTitle, { id }, token)).task?.id).toBe(id);
    });
    expect(plain).toHaveLength(1);
    expect(plain.filter(mentionsUsers)).toEqual([]);

    const list = await statementsOf(async () => {
      expect(dataOf(await execute(t, ListTaskTitles, { first: 5 }, token)).tasks.edges).toHaveLength(5);
    });
    expect(list.filter(mentionsUsers)).toEqual([]);

    // The check can tell: with the owner selected, users are read.
    const withOwner = await statementsOf(async () => {
      expect(dataOf(await execute(t, GetTask, { id }, token)).task?.owner.id).toBe("statements-5");
    });
    expect(withOwner.filter(mentionsUsers).length).toBeGreaterThan(0);
  });

  it("a REST list by status at most is one statement: the page, the change head and the count together", async () => {
    const token = tokenFor(50);
    for (const query of ["", "?limit=10", "?status=pending&limit=10", "?status=completed"]) {
      const statements = await statementsOf(async () => {
        const list = listOf(await rest(t, "GET", `/api/statements-50/tasks${query}`, { token }));
        expect(list.meta.total).toBe(query.includes("completed") ? 0 : 50);
      });
      // None is completed: an empty page has no row to carry the head and count, and is read again joined to them.
      expect(statements, query).toHaveLength(query.includes("completed") ? 2 : 1);
    }
    // Any other list is read between two reads of the head: the head, the page, its count, the head.
    const searched = await statementsOf(async () => {
      expect(listOf(await rest(t, "GET", "/api/statements-50/tasks?q=task&limit=10", { token })).meta.total).toBe(50);
    });
    expect(searched).toHaveLength(4);
    // With a cursor, too: the next page, its head and its count in one.
    const first = listOf(await rest(t, "GET", "/api/statements-50/tasks?limit=10", { token }));
    const next = await statementsOf(async () => {
      const page = listOf(
        await rest(t, "GET", `/api/statements-50/tasks?limit=10&cursor=${first.meta.next_cursor}`, { token }),
      );
      expect(page.data.map((task) => task.title)).not.toContain(first.data[0]?.title);
    });
    expect(next).toHaveLength(1);
  });

  it("any other list with its change cursor: the head, the page, and the head with the count by status", async () => {
    const token = tokenFor(50);
    const byTitle = { field: "TITLE", direction: "ASC" } as const;
    for (const filter of [undefined, { status: "OPEN" }] as const) {
      const statements = await statementsOf(async () => {
        const { tasks } = dataOf(await execute(t, ListTasksAtHead, { first: 10, orderBy: byTitle, filter }, token));
        expect(tasks.totalCount).toBe(50);
        expect(tasks.edges).toHaveLength(10);
      });
      // The owner each task's fields ask for is one more.
      const own = statements.filter((sql) => !/^SELECT "public"\."users"\./.test(sql));
      expect(own, own.join("\n")).toHaveLength(3);
      expect(statements.filter((sql) => /\bcount\(/i.test(sql))).toHaveLength(1);
    }
  });

  it("a task created without labels is one statement; a write to a missing task, one", async () => {
    const token = tokenFor(5);
    const created = await statementsOf(async () => {
      expect((await rest(t, "POST", "/api/statements-5/tasks", { token, body: { title: "one" } })).status).toBe(201);
    });
    expect(created).toHaveLength(1);
    const missing = `/api/statements-5/tasks/${randomUUID()}`;
    for (const [method, path] of [
      ["DELETE", missing],
      ["PUT", missing],
      ["PATCH", `${missing}/complete`],
    ] as const) {
      const sent = await statementsOf(async () => {
        const body = method === "PUT" ? { title: "none" } : undefined;
        expect((await rest(t, method, path, { token, body })).status).toBe(404);
      });
      // Of a transaction, only what it does.
      const statements = sent.filter((sql) => !/^(BEGIN|COMMIT|ROLLBACK|-- Implicit)/i.test(sql.trim()));
      expect(statements, `${method}: ${statements.join("\n")}`).toHaveLength(1);
    }
  });

  it("a page by due date that its first range fills reads no second range", async () => {
    const user = "statements-due";
    const token = await mintToken(user);
    expect(dataOf(await execute(t, ViewerId, {}, token)).viewer.id).toBe(user);
    await t.db.prisma.task.createMany({
      data: Array.from({ length: 6 }, (_, i) => ({
        userId: user,
        title: `due ${i}`,
        dueAt: i < 3 ? new Date(Date.UTC(2027, 0, i + 1)) : null,
      })),
    });
    const byDue = { field: "DUE", direction: "ASC" } as const;
    const pages = (statements: string[]) => statements.filter((sql) => /\bLIMIT\b/.test(sql) && !mentionsUsers(sql));
    // Two of the three with a due date, and a third to tell there is more: the first range alone.
    const full = await statementsOf(async () => {
      const { tasks } = dataOf(await execute(t, ListTasks, { first: 2, orderBy: byDue }, token));
      expect(tasks.edges.map((edge) => edge.node.title)).toEqual(["due 0", "due 1"]);
      expect(tasks.pageInfo.hasNextPage).toBe(true);
    });
    expect(pages(full)).toHaveLength(1);
    // Four: the three with one, then the rest from the second range.
    const both = await statementsOf(async () => {
      const { tasks } = dataOf(await execute(t, ListTasks, { first: 4, orderBy: byDue }, token));
      expect(tasks.edges.map((edge) => edge.node.title).slice(0, 3)).toEqual(["due 0", "due 1", "due 2"]);
      expect(tasks.pageInfo.hasNextPage).toBe(true);
    });
    expect(pages(both)).toHaveLength(2);
  });

  it("totalCount is counted only when it is asked for", async () => {
    const token = tokenFor(50);
    const count = (statements: string[]) => statements.filter((sql) => /\bCOUNT\s*\(/i.test(sql)).length;
    expect(count(await statementsOf(() => execute(t, ListTaskTitles, { first: 10 }, token)))).toBe(0);
    expect(count(await statementsOf(() => execute(t, ListTasks, { first: 10 }, token)))).toBe(1);
  });
});

describe("label statements, only where there is something to do", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  /** The statements of one request that read or write labels or the change log. */
  async function labelStatementsOf(run: () => Promise<unknown>): Promise<string[]> {
    return (await statementsSent(t, run)).filter((sql) =>
      /\b(task_labels|labels|task_events)\b|pg_advisory_xact_lock/.test(sql),
    );
  }

  it("a page of tasks with labels reads them in one statement; a page with none, in none", async () => {
    const token = await mintToken("statements-labels");
    for (const title of ["a", "b", "c"]) {
      dataOf(await execute(t, CreateTask, { input: { title, labels: [title, "shared"] } }, token));
    }
    const bare = await mintToken("statements-no-labels");
    for (const title of ["x", "y"]) dataOf(await execute(t, CreateTask, { input: { title } }, bare));
    const labelsOf = (tasks: { edges: { node: { labels: { name: string }[] } }[] }) =>
      tasks.edges.map((edge) => edge.node.labels.map((label) => label.name));
    const isPage = (sql: string) => /\bFROM tasks\b/.test(sql) && /\bLIMIT\b/.test(sql);

    // The hot list (by status at most, newest first) reads the labels in the page's own statement.
    for (const [who, expected] of [
      [
        token,
        [
          ["c", "shared"],
          ["b", "shared"],
          ["a", "shared"],
        ],
      ],
      [bare, [[], []]],
    ] as const) {
      const statements = await labelStatementsOf(async () => {
        expect(labelsOf(dataOf(await execute(t, ListTasks, { first: 10 }, who)).tasks)).toEqual(expected);
      });
      expect(statements).toHaveLength(1);
      expect(statements.every(isPage)).toBe(true);
    }

    // Any other list: one statement for the labels of the page, none when no task on it has any.
    const page = await labelStatementsOf(async () => {
      const { tasks } = dataOf(await execute(t, ListTasks, { first: 10, filter: { priorities: ["NONE"] } }, token));
      expect(labelsOf(tasks)).toEqual([
        ["c", "shared"],
        ["b", "shared"],
        ["a", "shared"],
      ]);
    });
    expect(page).toHaveLength(1);
    expect(page.some(isPage)).toBe(false);
    const none = await labelStatementsOf(async () => {
      const { tasks } = dataOf(await execute(t, ListTasks, { first: 10, filter: { priorities: ["NONE"] } }, bare));
      expect(labelsOf(tasks)).toEqual([[], []]);
    });
    expect(none).toEqual([]);

    // REST reads a page, its labels, its count and the change head together (src/schema/task.ts, resolveTaskList).
    for (const [who, user, expected] of [
      [
        token,
        "statements-labels",
        [
          ["c", "shared"],
          ["b", "shared"],
          ["a", "shared"],
        ],
      ],
      [bare, "statements-no-labels", [[], []]],
    ] as const) {
      const statements = await statementsSent(t, async () => {
        const list = listOf(await rest(t, "GET", `/api/${user}/tasks`, { token: who }));
        expect(list.data.map((task) => task.labels)).toEqual(expected);
      });
      expect(statements).toHaveLength(1);
    }
  });

  it("adding or removing no labels touches no label table; existing labels are found without the per-user lock", async () => {
    const token = await mintToken("statements-label-writes");
    const task = dataOf(await execute(t, CreateTask, { input: { title: "t" } }, token)).createTask;
    const added = await labelStatementsOf(async () => {
      expect(dataOf(await execute(t, AddTaskLabels, { id: task.id, names: [] }, token)).addTaskLabels.labels).toEqual(
        [],
      );
    });
    const removed = await labelStatementsOf(async () => {
      expect(
        dataOf(await execute(t, RemoveTaskLabels, { id: task.id, names: [] }, token)).removeTaskLabels.labels,
      ).toEqual([]);
    });
    // Only the change each records.
    for (const statements of [added, removed]) {
      expect(statements.filter((sql) => !/\btask_events\b/.test(sql))).toEqual([]);
      expect(statements).toHaveLength(1);
    }

    dataOf(await execute(t, CreateTask, { input: { title: "makes home", labels: ["home"] } }, token));
    const existing = await labelStatementsOf(() =>
      execute(t, CreateTask, { input: { title: "finds home", labels: ["HOME"] } }, token),
    );
    expect(existing.filter((sql) => /pg_advisory_xact_lock/.test(sql))).toEqual([]);
    // The check can tell: a new name takes the lock.
    const made = await labelStatementsOf(() =>
      execute(t, CreateTask, { input: { title: "makes work", labels: ["home", "work"] } }, token),
    );
    expect(made.filter((sql) => /pg_advisory_xact_lock/.test(sql))).toHaveLength(1);
  });

  it("renaming a label no task carries records no change", async () => {
    const token = await mintToken("statements-label-rename");
    const label = dataOf(await execute(t, CreateLabel, { input: { name: "unused" } }, token)).createLabel;
    const statements = await labelStatementsOf(async () => {
      const renamed = dataOf(await execute(t, UpdateLabel, { id: label.id, input: { name: "still unused" } }, token));
      expect(renamed.updateLabel.name).toBe("still unused");
    });
    expect(statements.filter((sql) => /\btask_events\b/.test(sql))).toEqual([]);
    expect(statements.length).toBeGreaterThan(0);
  });
});
