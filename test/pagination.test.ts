import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListTasksQuery, ListTasksQueryVariables } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { codesOf, dataOf, execute, type GraphQLResponse } from "./helpers/graphql.js";
import {
  AddTaskLabels,
  CreateLabel,
  ListTasks,
  ListTasksAtHead,
  ListTaskTitles,
  SetTaskCompleted,
  ViewerId,
} from "./helpers/operations.js";
import { mintToken } from "./helpers/tokens.js";

/** tasks(first/after/last/before, filter, orderBy) and totalCount: keyset pages over a real database. */

type Connection = ListTasksQuery["tasks"];
type Node = Connection["edges"][number]["node"];
type Row = { id: string; title: string; createdAt: Date; updatedAt: Date };

/** The order the API promises: the sort value, then id, in the same direction. */
function compareBy(field: "createdAt" | "updatedAt" | "title", direction: "asc" | "desc") {
  const sign = direction === "asc" ? 1 : -1;
  return (a: Row, b: Row): number => {
    const x = field === "title" ? a.title : a[field].getTime();
    const y = field === "title" ? b.title : b[field].getTime();
    if (x !== y) return (x < y ? -1 : 1) * sign;
    return (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) * sign;
  };
}

describe("tasks pagination", () => {
  let t: TestApp;
  const tokens = new Map<string, string>();

  /** A token for `user`, whose User row exists (made by a first request). */
  async function tokenFor(user: string): Promise<string> {
    const known = tokens.get(user);
    if (known) return known;
    const token = await mintToken(user);
    expect(dataOf(await execute(t, ViewerId, {}, token)).viewer.id).toBe(user);
    tokens.set(user, token);
    return token;
  }

  const page = (token: string, variables: ListTasksQueryVariables) => execute(t, ListTasks, variables, token);
  const pageOf = async (token: string, variables: ListTasksQueryVariables) =>
    dataOf(await page(token, variables)).tasks;

  /** Walks the whole list forward with `first`, checking each page's bookkeeping. */
  async function walkForward(token: string, size: number, variables: ListTasksQueryVariables = {}) {
    const nodes: Node[] = [];
    const pages: Connection[] = [];
    let after: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const tasks: Connection = await pageOf(token, { ...variables, first: size, after });
      pages.push(tasks);
      nodes.push(...tasks.edges.map((edge) => edge.node));
      expect(tasks.edges.length).toBeLessThanOrEqual(size);
      expect(tasks.pageInfo.hasPreviousPage).toBe(after !== null);
      expect(tasks.pageInfo.startCursor).toBe(tasks.edges[0]?.cursor ?? null);
      expect(tasks.pageInfo.endCursor).toBe(tasks.edges.at(-1)?.cursor ?? null);
      if (!tasks.pageInfo.hasNextPage) return { nodes, pages };
      expect(tasks.edges).toHaveLength(size);
      after = tasks.pageInfo.endCursor;
    }
    throw new Error("the forward walk did not end");
  }

  /** Walks the whole list backward with `last`/`before`; returns the nodes in list order. */
  async function walkBackward(token: string, size: number, variables: ListTasksQueryVariables = {}) {
    let nodes: Node[] = [];
    const pages: Connection[] = [];
    let before: string | null = null;
    for (let guard = 0; guard < 100; guard++) {
      const tasks: Connection = await pageOf(token, { ...variables, last: size, before });
      pages.push(tasks);
      nodes = [...tasks.edges.map((edge) => edge.node), ...nodes];
      expect(tasks.edges.length).toBeLessThanOrEqual(size);
      expect(tasks.pageInfo.hasNextPage).toBe(before !== null);
      if (!tasks.pageInfo.hasPreviousPage) return { nodes, pages };
      expect(tasks.edges).toHaveLength(size);
      before = tasks.pageInfo.startCursor;
    }
    throw new Error("the backward walk did not end");
  }

  const ids = (nodes: { id: string }[]) => nodes.map((node) => node.id);
  const rowsOf = (userId: string) =>
    t.db.prisma.task.findMany({
      where: { userId },
      select: { id: true, title: true, createdAt: true, updatedAt: true },
    });

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("an empty list: no edges, totalCount 0, no pages either way, null cursors", async () => {
    const token = await tokenFor("page-empty");
    for (const variables of [{}, { first: 10 }, { last: 10 }]) {
      const tasks = await pageOf(token, variables);
      expect(tasks).toEqual({
        totalCount: 0,
        edges: [],
        pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
      });
    }
  });

  describe("57 tasks, 15 of them created at the very same instant", () => {
    const user = "page-walker";
    let token: string;
    let expected: string[];

    beforeAll(async () => {
      token = await tokenFor(user);
      const base = Date.parse("2026-01-01T00:00:00.000Z");
      const tied = new Date(base + 30 * 60_000);
      // 21 older ones, then 15 sharing one created_at, then 21 newer ones, so
      // that page boundaries (every 10) fall inside the tie.
      const data = Array.from({ length: 57 }, (_, i) => {
        const createdAt = i >= 21 && i < 36 ? tied : new Date(base + i * 60_000);
        return { userId: user, title: `walk ${String(i).padStart(2, "0")}`, createdAt, updatedAt: createdAt };
      });
      await t.db.prisma.task.createMany({ data });
      const rows = await rowsOf(user);
      expect(rows.filter((row) => row.createdAt.getTime() === tied.getTime())).toHaveLength(15);
      expected = ids(rows.sort(compareBy("createdAt", "desc")));
    });

    it("forward in pages of 10: every task once, newest first, ties by id descending", async () => {
      const { nodes, pages } = await walkForward(token, 10);
      expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 10, 10, 10, 7]);
      for (const p of pages) expect(p.totalCount).toBe(57);
      expect(new Set(ids(nodes)).size).toBe(57);
      expect(ids(nodes)).toEqual(expected);
      // The order, checked on what the API itself returned.
      for (let i = 1; i < nodes.length; i++) {
        const [previous, current] = [nodes[i - 1], nodes[i]];
        if (!previous || !current) throw new Error("hole in the list");
        const [a, b] = [Date.parse(previous.createdAt), Date.parse(current.createdAt)];
        expect(a >= b).toBe(true);
        if (a === b) expect(previous.id > current.id).toBe(true);
      }
    });

    it("backward with last/before: the same tasks in the same order", async () => {
      const { nodes, pages } = await walkBackward(token, 10);
      expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 10, 10, 10, 7]);
      expect(ids(nodes)).toEqual(expected);
      // The first backward page is the end of the list.
      expect(ids(pages[0]?.edges.map((edge) => edge.node) ?? [])).toEqual(expected.slice(-10));
    });

    it("odd page sizes walk the same list both ways", async () => {
      expect(ids((await walkForward(token, 7)).nodes)).toEqual(expected);
      expect(ids((await walkBackward(token, 13)).nodes)).toEqual(expected);
      expect(ids((await walkForward(token, 100)).nodes)).toEqual(expected);
    });

    it("after and before together give the tasks strictly between the two cursors", async () => {
      const all = await pageOf(token, { first: 57 });
      const from = all.edges[12]?.cursor ?? null;
      const to = all.edges[40]?.cursor ?? null;
      expect(from).not.toBeNull();
      expect(to).not.toBeNull();
      const between = await pageOf(token, { first: 100, after: from, before: to });
      expect(ids(between.edges.map((edge) => edge.node))).toEqual(expected.slice(13, 40));
      // Read through Prisma (every priority: not a list by status alone), a page that ends at `before` is not the
      // whole list, so its count is still everything's.
      const priorities = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"] as const;
      const upTo = await pageOf(token, { first: 100, before: to, filter: { priorities: [...priorities] } });
      expect(ids(upTo.edges.map((edge) => edge.node))).toEqual(expected.slice(0, 40));
      expect(upTo.totalCount).toBe(57);
    });

    it("the default page size is 20", async () => {
      const tasks = await pageOf(token, {});
      expect(tasks.edges).toHaveLength(20);
      expect(tasks.pageInfo.hasNextPage).toBe(true);
      expect(tasks.totalCount).toBe(57);
      expect(ids(tasks.edges.map((edge) => edge.node))).toEqual(expected.slice(0, 20));
    });

    it("reads a page with one SQL statement that has a LIMIT, whatever the page size", async () => {
      const pageStatements = () =>
        t.queries.filter((sql) => /\bFROM\s+("public"\.)?"?tasks"?/i.test(sql) && !/\bCOUNT\s*\(/i.test(sql));
      for (const variables of [{ first: 1 }, { first: 10 }, { first: 100 }, {}, { last: 5 }, { last: 100 }]) {
        t.queries.length = 0;
        const res = await execute(t, ListTaskTitles, variables, token);
        expect(res.errors).toBeUndefined();
        const statements = pageStatements();
        expect(statements).toHaveLength(1);
        expect(statements[0]).toMatch(/\bLIMIT\b/i);
        expect(statements[0]).not.toMatch(/\bOFFSET\s+[1-9]/i);
      }
    });
  });

  it("the hot list read in one statement (with its head, count and labels) pages exactly like one read through Prisma", async () => {
    const user = "page-at-head";
    const token = await tokenFor(user);
    const base = Date.parse("2026-02-01T00:00:00.000Z");
    // 23 tasks, 9 of them created at one instant, every third completed.
    await t.db.prisma.task.createMany({
      data: Array.from({ length: 23 }, (_, i) => {
        const createdAt = new Date(base + (i >= 7 && i < 16 ? 7 : i) * 60_000);
        const isCompleted = i % 3 === 0;
        return {
          userId: user,
          title: `head ${i}`,
          createdAt,
          updatedAt: createdAt,
          isCompleted,
          completedAt: isCompleted ? createdAt : null,
        };
      }),
    });
    // Some carry labels, one of them with a color: read in the same statement, they must match Prisma's.
    dataOf(await execute(t, CreateLabel, { input: { name: "Red", color: "#ff0000" } }, token));
    const rows = (await rowsOf(user)).sort(compareBy("createdAt", "desc"));
    for (const [i, names] of [
      [0, ["red", "zeta"]],
      [5, ["alpha"]],
      [9, ["Red"]],
      [22, ["b", "a", "c"]],
    ] as const) {
      const id = rows[i]?.id ?? "";
      expect(dataOf(await execute(t, AddTaskLabels, { id, names: [...names] }, token)).addTaskLabels.id).toBe(id);
    }
    const head = (await t.db.prisma.user.findUniqueOrThrow({ where: { id: user } })).changeSeq.toString();
    // Every priority: the same tasks, but not a list by status alone, so read through Prisma.
    const priorities = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"] as const;
    const both = async (variables: ListTasksQueryVariables) => {
      const throughPrisma = { ...variables, filter: { ...variables.filter, priorities: [...priorities] } };
      const plain = dataOf(await execute(t, ListTasks, throughPrisma, token)).tasks;
      t.queries.length = 0;
      const { changeCursor, ...atHead } = dataOf(await execute(t, ListTasksAtHead, variables, token)).tasks;
      // One statement: the page, the head and the count together (the owner, asked for too, is another);
      // an empty page has no row to carry them, and is read again joined to them.
      const reads = t.queries.filter((sql) => !/^SELECT "public"\."users"\./.test(sql));
      expect(reads, reads.join("\n")).toHaveLength(atHead.edges.length === 0 ? 2 : 1);
      for (const sql of reads) expect(sql).toMatch(/change_seq[\s\S]*count\(\*\)[\s\S]*FROM tasks/);
      expect(atHead).toEqual(plain);
      expect(changeCursor).toBe(head);
      return plain;
    };
    let pages = 0;
    for (const orderBy of [
      undefined,
      { field: "CREATED_AT", direction: "ASC" },
      { field: "CREATED_AT", direction: "DESC" },
    ] as const) {
      for (const filter of [undefined, { status: "OPEN" }, { status: "COMPLETED" }, { status: "ALL" }] as const) {
        const [size, variables] = [4, { orderBy, filter }];
        const all = await both({ ...variables, first: 100 });
        expect(all.totalCount).toBe(filter?.status === "COMPLETED" ? 8 : filter?.status === "OPEN" ? 15 : 23);
        for (let after: string | null = null, guard = 0; guard < 10; guard++, pages++) {
          const page: Connection = await both({ ...variables, first: size, after });
          if (!page.pageInfo.hasNextPage) break;
          after = page.pageInfo.endCursor;
        }
        for (let before: string | null = null, guard = 0; guard < 10; guard++, pages++) {
          const page: Connection = await both({ ...variables, last: size, before });
          if (!page.pageInfo.hasPreviousPage) break;
          before = page.pageInfo.startCursor;
        }
        const [from, to] = [all.edges[2]?.cursor ?? null, all.edges[7]?.cursor ?? null];
        expect(
          ids((await both({ ...variables, first: 100, after: from, before: to })).edges.map((e) => e.node)),
        ).toEqual(ids(all.edges.slice(3, 7).map((e) => e.node)));
        await both({ ...variables, last: 2, after: from, before: to });
        // Beyond either end: an empty page, still with its head and count.
        expect((await both({ ...variables, first: 3, after: all.edges.at(-1)?.cursor ?? null })).edges).toEqual([]);
        expect((await both({ ...variables, last: 3, before: all.edges[0]?.cursor ?? null })).edges).toEqual([]);
      }
    }
    // Every walk had pages to turn.
    expect(pages).toBeGreaterThan(50);
  });

  it("orders by TITLE ascending, ties broken by id, walked both ways", async () => {
    const user = "page-titles";
    const token = await tokenFor(user);
    // Same length, lower-case letters and digits only: the same order in every collation.
    const titles = Array.from({ length: 23 }, (_, i) => `title${String((i * 5) % 8)}`);
    await t.db.prisma.task.createMany({ data: titles.map((title) => ({ userId: user, title })) });
    const expected = ids((await rowsOf(user)).sort(compareBy("title", "asc")));
    const orderBy = { field: "TITLE", direction: "ASC" } as const;

    const forward = await walkForward(token, 5, { orderBy });
    expect(new Set(ids(forward.nodes)).size).toBe(23);
    expect(ids(forward.nodes)).toEqual(expected);
    expect(forward.nodes.map((node) => node.title)).toEqual([...titles].sort());
    expect(ids((await walkBackward(token, 4, { orderBy })).nodes)).toEqual(expected);

    const descending = await walkForward(token, 6, { orderBy: { field: "TITLE", direction: "DESC" } });
    expect(ids(descending.nodes)).toEqual([...expected].reverse());
  });

  it("orders by UPDATED_AT descending, ties broken by id, not by creation", async () => {
    const user = "page-updated";
    const token = await tokenFor(user);
    const base = Date.parse("2026-02-01T00:00:00.000Z");
    await t.db.prisma.task.createMany({
      data: Array.from({ length: 20 }, (_, i) => ({
        userId: user,
        title: `updated ${i}`,
        createdAt: new Date(base + i * 1000),
        // Updated in the reverse order of creation, six of them at the same instant.
        updatedAt: new Date(base + 100_000 + (i < 6 ? 0 : (20 - i) * 1000)),
      })),
    });
    const rows = await rowsOf(user);
    expect(new Set(rows.map((row) => row.updatedAt.getTime())).size).toBe(15);
    const expected = ids(rows.sort(compareBy("updatedAt", "desc")));
    expect(expected).not.toEqual(ids(rows.sort(compareBy("createdAt", "desc"))));

    const orderBy = { field: "UPDATED_AT", direction: "DESC" } as const;
    expect(ids((await walkForward(token, 4, { orderBy })).nodes)).toEqual(expected);
    expect(ids((await walkBackward(token, 3, { orderBy })).nodes)).toEqual(expected);
    const ascending = await walkForward(token, 8, { orderBy: { field: "UPDATED_AT", direction: "ASC" } });
    expect(ids(ascending.nodes)).toEqual([...expected].reverse());
  });

  it("filters by status, with a matching totalCount, across pages", async () => {
    const user = "page-status";
    const token = await tokenFor(user);
    await t.db.prisma.task.createMany({
      data: Array.from({ length: 12 }, (_, i) => ({ userId: user, title: `status ${i}` })),
    });
    const rows = (await rowsOf(user)).sort(compareBy("createdAt", "desc"));
    const completed = new Set(rows.filter((_, i) => i % 5 === 1 || i === 0).map((row) => row.id));
    expect(completed.size).toBe(4);
    for (const id of completed) {
      expect(
        dataOf(await execute(t, SetTaskCompleted, { id, completed: true }, token)).setTaskCompleted.isCompleted,
      ).toBe(true);
    }

    const done = await walkForward(token, 3, { filter: { status: "COMPLETED" } });
    expect(new Set(ids(done.nodes))).toEqual(completed);
    expect(done.nodes.every((node) => node.isCompleted)).toBe(true);
    for (const p of done.pages) expect(p.totalCount).toBe(4);

    const open = await walkForward(token, 3, { filter: { status: "OPEN" } });
    expect(open.nodes).toHaveLength(8);
    expect(open.nodes.every((node) => !node.isCompleted && !completed.has(node.id))).toBe(true);
    for (const p of open.pages) expect(p.totalCount).toBe(8);

    expect((await pageOf(token, { filter: { status: "ALL" } })).totalCount).toBe(12);
    expect((await pageOf(token, { filter: {} })).totalCount).toBe(12);
  });

  describe("search", () => {
    const user = "page-search";
    let token: string;
    const byTitle = new Map<string, string>();

    beforeAll(async () => {
      token = await tokenFor(user);
      const tasks = [
        { title: "Buy MILK", description: null },
        { title: "Groceries", description: "remember the Milk and eggs" },
        { title: "100% done", description: null },
        { title: "1000 done", description: null },
        { title: "snake_case name", description: null },
        { title: "snakeXcase name", description: null },
        { title: "back\\slash", description: null },
        { title: "backslash", description: null },
        { title: "Unrelated", description: "nothing here" },
      ];
      await t.db.prisma.task.createMany({ data: tasks.map((task) => ({ userId: user, ...task })) });
      for (const row of await rowsOf(user)) byTitle.set(row.title, row.id);
    });

    async function search(text: string) {
      const tasks = await pageOf(token, { first: 100, filter: { search: text } });
      expect(tasks.totalCount).toBe(tasks.edges.length);
      return tasks.edges.map((edge) => edge.node.title).sort();
    }

    it("is case-insensitive and looks in the title and the description", async () => {
      expect(await search("milk")).toEqual(["Buy MILK", "Groceries"]);
      expect(await search("MiLk")).toEqual(["Buy MILK", "Groceries"]);
      expect(await search("EGGS")).toEqual(["Groceries"]);
      expect(await search("no such text")).toEqual([]);
    });

    it("combines with the status filter", async () => {
      const id = byTitle.get("Buy MILK");
      if (!id) throw new Error("missing fixture");
      await execute(t, SetTaskCompleted, { id, completed: true }, token);
      const open = await pageOf(token, { filter: { search: "milk", status: "OPEN" } });
      expect(open.totalCount).toBe(1);
      expect(open.edges.map((edge) => edge.node.title)).toEqual(["Groceries"]);
      const completed = await pageOf(token, { filter: { search: "milk", status: "COMPLETED" } });
      expect(completed.edges.map((edge) => edge.node.title)).toEqual(["Buy MILK"]);
    });

    it("matches % literally", async () => {
      expect(await search("100%")).toEqual(["100% done"]);
      expect(await search("%")).toEqual(["100% done"]);
    });

    it("matches _ literally", async () => {
      expect(await search("snake_case")).toEqual(["snake_case name"]);
      expect(await search("_")).toEqual(["snake_case name"]);
    });

    it("matches a backslash literally", async () => {
      expect(await search("back\\slash")).toEqual(["back\\slash"]);
    });
  });

  describe("refused arguments", () => {
    let token: string;
    let titleCursor: string;
    let updatedCursor: string;

    beforeAll(async () => {
      token = await tokenFor("page-refusals");
      await t.db.prisma.task.createMany({
        data: Array.from({ length: 3 }, (_, i) => ({ userId: "page-refusals", title: `r${i}` })),
      });
      const byTitle = await pageOf(token, { first: 1, orderBy: { field: "TITLE", direction: "ASC" } });
      const byUpdate = await pageOf(token, { first: 1, orderBy: { field: "UPDATED_AT", direction: "DESC" } });
      titleCursor = byTitle.pageInfo.endCursor ?? "";
      updatedCursor = byUpdate.pageInfo.endCursor ?? "";
      expect(titleCursor).not.toBe("");
      expect(updatedCursor).not.toBe("");
    });

    function expectBadInput(res: GraphQLResponse<ListTasksQuery>, field: string) {
      expect(codesOf(res)).toEqual(["BAD_USER_INPUT"]);
      expect(res.status).toBe(400);
      expect(res.data ?? null).toBeNull();
      expect(res.errors?.[0]?.extensions?.details?.map((detail) => detail.field)).toEqual([field]);
      expect(JSON.stringify(res.errors)).not.toMatch(/prisma|SELECT|\bat\s+\S+\s+\(/i);
    }

    it("accepts first: 100 and refuses first: 101", async () => {
      expect((await page(token, { first: 100 })).errors).toBeUndefined();
      expectBadInput(await page(token, { first: 101 }), "first");
    });

    it("refuses a negative first or last, and a last over 100", async () => {
      expectBadInput(await page(token, { first: -1 }), "first");
      expectBadInput(await page(token, { last: -1 }), "last");
      expectBadInput(await page(token, { last: 101 }), "last");
    });

    it("refuses first and last together", async () => {
      expect(codesOf(await page(token, { first: 5, last: 5 }))).toEqual(["BAD_USER_INPUT"]);
      expect((await page(token, { first: 5, last: 5 })).status).toBe(400);
    });

    it("refuses a garbage cursor, as after and as before", async () => {
      for (const garbage of ["garbage", "", "e30", Buffer.from('["c","yesterday","x"]').toString("base64url")]) {
        expectBadInput(await page(token, { first: 5, after: garbage }), "after");
        expectBadInput(await page(token, { last: 5, before: garbage }), "before");
      }
    });

    it("refuses a well-formed cursor whose id is not a UUID or whose date is not a date", async () => {
      const notUuid = Buffer.from(JSON.stringify(["c", new Date().toISOString(), "1; DROP TABLE tasks"]));
      const notDate = Buffer.from(JSON.stringify(["c", "not a date", randomUUID()]));
      expectBadInput(await page(token, { after: notUuid.toString("base64url") }), "after");
      expectBadInput(await page(token, { after: notDate.toString("base64url") }), "after");
    });

    it("refuses crafted cursors of the wrong shape: an object with a length, a null date where dates are required", async () => {
      const cursor = (raw: unknown) => Buffer.from(JSON.stringify(raw)).toString("base64url");
      const lengthy = cursor({ length: 3, 0: "c", 1: new Date().toISOString(), 2: randomUUID() });
      expectBadInput(await page(token, { first: 5, after: lengthy }), "after");
      // Only a due-date cursor may carry no value (a task without a due date).
      for (const [tag, field] of [
        ["c", "CREATED_AT"],
        ["u", "UPDATED_AT"],
        ["t", "TITLE"],
      ] as const) {
        const orderBy = { field, direction: "DESC" } as const;
        expectBadInput(await page(token, { first: 5, after: cursor([tag, null, randomUUID()]), orderBy }), "after");
      }
      const undated = await page(token, {
        first: 5,
        after: cursor(["d", null, randomUUID()]),
        orderBy: { field: "DUE", direction: "ASC" },
      });
      expect(undated.errors).toBeUndefined();
    });

    it("refuses a crafted cursor with a date the database cannot hold as bad input, not an internal error", async () => {
      const farPast = Buffer.from(JSON.stringify(["c", "-271821-04-20T00:00:00.000Z", randomUUID()]));
      const res = await page(token, { first: 5, after: farPast.toString("base64url") });
      expect(codesOf(res)).not.toContain("INTERNAL_SERVER_ERROR");
      expectBadInput(res, "after");
    });

    it("refuses a NUL character in a title cursor or in the search text as bad input, not an internal error", async () => {
      const nulTitle = Buffer.from(JSON.stringify(["t", "r\u0000", randomUUID()])).toString("base64url");
      const byTitle = await page(token, { first: 5, after: nulTitle, orderBy: { field: "TITLE", direction: "ASC" } });
      expect(codesOf(byTitle)).not.toContain("INTERNAL_SERVER_ERROR");
      expectBadInput(byTitle, "after");

      const search = await page(token, { first: 5, filter: { search: "r\u0000" } });
      expect(codesOf(search)).not.toContain("INTERNAL_SERVER_ERROR");
      expect(codesOf(search)).toEqual(["BAD_USER_INPUT"]);
      expect(search.status).toBe(400);
    });

    it("refuses a cursor taken from another ordering", async () => {
      expectBadInput(await page(token, { first: 5, after: titleCursor }), "after");
      expectBadInput(await page(token, { last: 5, before: updatedCursor }), "before");
      expectBadInput(
        await page(token, { first: 5, after: updatedCursor, orderBy: { field: "TITLE", direction: "ASC" } }),
        "after",
      );
      // The same cursor is fine with the ordering it came from.
      const ok = await page(token, { first: 5, after: titleCursor, orderBy: { field: "TITLE", direction: "ASC" } });
      expect(dataOf(ok).tasks.edges.map((edge) => edge.node.title)).toEqual(["r1", "r2"]);
    });
  });
});
