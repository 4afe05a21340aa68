import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { errorOf, listOf, type RestTask, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * The six REST routes, end to end through the app's fetch handler. Every
 * response goes through `rest()`, which fails the test if it is not one the
 * OpenAPI contract documents.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const tasksPath = (user: string) => `/api/${encodeURIComponent(user)}/tasks`;
const taskPath = (user: string, id: string) => `${tasksPath(user)}/${id}`;
const completePath = (user: string, id: string) => `${taskPath(user, id)}/complete`;

/** A user of its own for each test, so that lists are predictable. */
async function newUser(name: string): Promise<{ id: string; token: string }> {
  const id = `rest-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

async function create(
  user: { id: string; token: string },
  body: Record<string, unknown> = { title: "a task" },
): Promise<RestTask> {
  return taskOf(await rest(t, "POST", tasksPath(user.id), { token: user.token, body }), 201);
}

const row = (id: string) => t.db.prisma.task.findUnique({ where: { id } });
const countOf = (userId: string) => t.db.prisma.task.count({ where: { userId } });
const detailFields = (error: { details?: { field: string }[] }) => (error.details ?? []).map((d) => d.field);

/**
 * Bodies a write cannot read: malformed JSON is 400 naming the body; JSON
 * sent as text/plain, and a form, are 415.
 */
async function expectUnreadableBodiesRefused(
  method: "PUT" | "PATCH",
  path: string,
  token: string,
  bodies: { malformed: string[]; json: string; form: string },
): Promise<void> {
  for (const rawBody of bodies.malformed) {
    expect(detailFields(errorOf(await rest(t, method, path, { token, rawBody }), 400, "BAD_USER_INPUT"))).toEqual([
      "body",
    ]);
  }
  for (const [rawBody, type] of [
    [bodies.json, "text/plain"],
    [bodies.form, "application/x-www-form-urlencoded"],
  ] as const) {
    const res = await rest(t, method, path, { token, rawBody, headers: { "content-type": type } });
    errorOf(res, 415, "UNSUPPORTED_MEDIA_TYPE");
  }
}

describe("POST /api/{user_id}/tasks", () => {
  it("creates a task: 201, the task in snake_case, ETag of version 1, Location of a GET that returns it", async () => {
    const user = await newUser("create");
    const res = await rest(t, "POST", tasksPath(user.id), {
      token: user.token,
      body: { title: "  buy milk  ", description: "two litres" },
    });
    const task = taskOf(res, 201);
    expect(task).toMatchObject({
      user_id: user.id,
      title: "buy milk",
      description: "two litres",
      is_completed: false,
      completed_at: null,
      version: 1,
    });
    expect(task.created_at).toBe(task.updated_at);
    expect(res.headers.get("etag")).toBe('"1"');
    const location = res.headers.get("location");
    expect(location).toBe(`/api/${user.id}/tasks/${task.id}`);

    const fetched = await rest(t, "GET", location ?? "", { token: user.token });
    expect(taskOf(fetched)).toEqual(task);
    expect(await row(task.id)).toMatchObject({ userId: user.id, title: "buy milk", description: "two litres" });
  });

  it("gives a Location that works for user ids with characters that need encoding", async () => {
    const id = `auth0|rest location ${randomUUID().slice(0, 8)}`;
    const token = await mintToken(id);
    const res = await rest(t, "POST", tasksPath(id), { token, body: { title: "encoded" } });
    const task = taskOf(res, 201);
    expect(task.user_id).toBe(id);
    const location = res.headers.get("location") ?? "";
    expect(location).toBe(`/api/${encodeURIComponent(id)}/tasks/${task.id}`);
    expect(taskOf(await rest(t, "GET", location, { token }))).toEqual(task);
  });

  it("stores no description when it is left out, null or empty", async () => {
    const user = await newUser("nodesc");
    expect((await create(user, { title: "a" })).description).toBeNull();
    expect((await create(user, { title: "b", description: null })).description).toBeNull();
    expect((await create(user, { title: "c", description: "" })).description).toBeNull();
  });

  it("ignores unknown body fields, and user_id, id, version or completion smuggled in the body", async () => {
    const user = await newUser("smuggle");
    const victim = await newUser("smuggle-victim");
    const smuggledId = randomUUID();
    const task = await create(user, {
      title: "mine",
      user_id: victim.id,
      userId: victim.id,
      id: smuggledId,
      version: 42,
      is_completed: true,
      completed_at: "2020-01-01T00:00:00.000Z",
      created_at: "2020-01-01T00:00:00.000Z",
      colour: "red",
    });
    expect(task).toMatchObject({
      user_id: user.id,
      title: "mine",
      version: 1,
      is_completed: false,
      completed_at: null,
    });
    expect(task.id).not.toBe(smuggledId);
    expect(task.created_at).not.toBe("2020-01-01T00:00:00.000Z");
    expect(await row(task.id)).toMatchObject({ userId: user.id, version: 1, isCompleted: false });
    expect(await row(smuggledId)).toBeNull();
    expect(await countOf(victim.id)).toBe(0);
  });

  it("accepts JSON content types with parameters and +json suffixes", async () => {
    const user = await newUser("ctype");
    for (const type of ["application/json; charset=utf-8", "Application/JSON", "application/merge-patch+json"]) {
      const res = await rest(t, "POST", tasksPath(user.id), {
        token: user.token,
        rawBody: JSON.stringify({ title: type }),
        headers: { "content-type": type },
      });
      expect(taskOf(res, 201).title).toBe(type);
    }
  });

  it.each([
    ["title missing", { description: "x" }, "title", "Required."],
    ["title blank", { title: "   " }, "title", "Must not be empty."],
    ["title too long", { title: "x".repeat(201) }, "title", "Must be at most 200 characters."],
    ["description too long", { title: "x", description: "y".repeat(1001) }, "description", undefined],
    ["title a number", { title: 5 }, "title", "Must be a string."],
    ["title null", { title: null }, "title", "Must be a string."],
    ["description a number", { title: "x", description: 5 }, "description", "Must be a string or null."],
    ["description an object", { title: "x", description: { text: "y" } }, "description", undefined],
    ["a NUL character in the title", { title: "a\u0000b" }, "title", undefined],
    ["a NUL character in the description", { title: "x", description: "a\u0000b" }, "description", undefined],
  ])("refuses a body with %s: 400 naming the REST field", async (_name, body, field, message) => {
    const user = await newUser("invalid");
    const error = errorOf(
      await rest(t, "POST", tasksPath(user.id), { token: user.token, body }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual([field]);
    if (message !== undefined) expect(error.details?.[0]?.message).toBe(message);
    expect(error.message).toMatch(new RegExp(`^${field}: `));
    expect(await countOf(user.id)).toBe(0);
  });

  it.each([
    ["malformed JSON", '{"title": "x"'],
    ["a JSON array", '[{"title": "x"}]'],
    ["a JSON string", '"x"'],
    ["JSON null", "null"],
    ["no body at all", ""],
  ])("refuses %s: 400 about the body", async (_name, rawBody) => {
    const user = await newUser("badjson");
    const error = errorOf(
      await rest(t, "POST", tasksPath(user.id), { token: user.token, rawBody }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual(["body"]);
    expect(await countOf(user.id)).toBe(0);
  });

  it.each([
    ["text/plain", "text/plain", '{"title": "x"}'],
    ["a form", "application/x-www-form-urlencoded", "title=x"],
    [
      "multipart",
      "multipart/form-data; boundary=x",
      '--x\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--x--',
    ],
    ["XML", "application/xml", "<task><title>x</title></task>"],
  ])("refuses %s: 415, nothing created", async (_name, type, rawBody) => {
    const user = await newUser("media");
    const res = await rest(t, "POST", tasksPath(user.id), {
      token: user.token,
      rawBody,
      headers: { "content-type": type },
    });
    errorOf(res, 415, "UNSUPPORTED_MEDIA_TYPE");
    expect(await countOf(user.id)).toBe(0);
  });
});

describe("authentication and authorization", () => {
  const someId = randomUUID();
  const routes = (user: string) =>
    [
      ["GET", tasksPath(user)],
      ["POST", tasksPath(user)],
      ["GET", taskPath(user, someId)],
      ["PUT", taskPath(user, someId)],
      ["DELETE", taskPath(user, someId)],
      ["PATCH", completePath(user, someId)],
    ] as const;
  const bodyFor = (method: string) => (method === "POST" || method === "PUT" ? { title: "x" } : undefined);

  it("answers 401 with WWW-Authenticate on every route without a token", async () => {
    for (const [method, path] of routes("rest-anonymous")) {
      const body = bodyFor(method);
      const res = await rest(t, method, path, body === undefined ? {} : { body });
      errorOf(res, 401, "UNAUTHENTICATED");
      expect(res.headers.get("www-authenticate"), `${method} ${path}`).toMatch(/^Bearer realm="tasks-api"/);
    }
    expect(await t.db.prisma.user.count({ where: { id: "rest-anonymous" } })).toBe(0);
  });

  it("answers 401 with WWW-Authenticate for tokens that are not valid", async () => {
    const user = "rest-badtoken";
    const cases: [string, Record<string, string>][] = [
      ["garbage", { authorization: "Bearer not-a-jwt" }],
      ["wrong secret", { authorization: `Bearer ${await mintToken(user, { secret: "x".repeat(40) })}` }],
      ["expired", { authorization: `Bearer ${await mintToken(user, { expiresIn: -3600 })}` }],
      ["no subject", { authorization: `Bearer ${await mintToken(undefined)}` }],
      ["another scheme", { authorization: `Basic ${Buffer.from("user:pass").toString("base64")}` }],
      ["an empty bearer", { authorization: "Bearer " }],
    ];
    for (const [name, headers] of cases) {
      for (const [method, path] of routes(user)) {
        const body = bodyFor(method);
        const res = await rest(t, method, path, body === undefined ? { headers } : { headers, body });
        errorOf(res, 401, "UNAUTHENTICATED");
        expect(res.headers.get("www-authenticate"), `${name}: ${method} ${path}`).toMatch(/^Bearer/);
      }
    }
    expect(await countOf(user)).toBe(0);
  });

  it("answers 403 on every route when the path names another user than the token's", async () => {
    const me = await newUser("me");
    for (const [method, path] of routes("someone-else")) {
      const body = bodyFor(method);
      const res = await rest(t, method, path, body === undefined ? { token: me.token } : { token: me.token, body });
      errorOf(res, 403, "FORBIDDEN");
    }
    expect(await countOf("someone-else")).toBe(0);
    expect(await countOf(me.id)).toBe(0);
  });

  it("compares user ids exactly: another case is another user", async () => {
    const token = await mintToken("rest-CaseUser");
    errorOf(await rest(t, "GET", tasksPath("rest-caseuser"), { token }), 403, "FORBIDDEN");
    listOf(await rest(t, "GET", tasksPath("rest-CaseUser"), { token }));
  });
});

describe("GET /api/{user_id}/tasks", () => {
  it("lists nothing for a new user", async () => {
    const user = await newUser("empty");
    const list = listOf(await rest(t, "GET", tasksPath(user.id), { token: user.token }));
    expect(list).toEqual({ data: [], meta: { total: 0, count: 0, limit: 100, next_cursor: null, change_cursor: "0" } });
  });

  it("filters by status: pending, completed, all", async () => {
    const user = await newUser("status");
    const open1 = await create(user, { title: "open one" });
    const done = await create(user, { title: "done" });
    const open2 = await create(user, { title: "open two" });
    taskOf(await rest(t, "PATCH", completePath(user.id, done.id), { token: user.token }));

    const ids = async (query: string) => {
      const list = listOf(await rest(t, "GET", `${tasksPath(user.id)}${query}`, { token: user.token }));
      expect(list.meta.total).toBe(list.data.length);
      return list.data.map((task) => task.id).sort();
    };
    expect(await ids("?status=pending")).toEqual([open1.id, open2.id].sort());
    expect(await ids("?status=completed")).toEqual([done.id]);
    expect(await ids("?status=all")).toEqual([open1.id, done.id, open2.id].sort());
    expect(await ids("")).toEqual([open1.id, done.id, open2.id].sort());
  });

  it("finds text with q: case-insensitive, in the title or the description", async () => {
    const user = await newUser("search");
    const milk = await create(user, { title: "Buy MILK", description: null });
    const bread = await create(user, { title: "bakery", description: "bread and milk" });
    await create(user, { title: "unrelated" });

    const found = async (q: string) => {
      const list = listOf(
        await rest(t, "GET", `${tasksPath(user.id)}?q=${encodeURIComponent(q)}`, { token: user.token }),
      );
      expect(list.meta.total).toBe(list.data.length);
      return list.data.map((task) => task.id).sort();
    };
    expect(await found("milk")).toEqual([milk.id, bread.id].sort());
    expect(await found("BREAD")).toEqual([bread.id]);
    expect(await found("  bakery  ")).toEqual([bread.id]);
    expect(await found("nothing like it")).toEqual([]);
    expect(await found("")).toHaveLength(3);
  });

  it("finds the characters % and _ in q literally, not as LIKE wildcards", async () => {
    const user = await newUser("wildcards");
    const percent = await create(user, { title: "100% done" });
    const underscore = await create(user, { title: "snake_case" });
    await create(user, { title: "1000 done" });
    await create(user, { title: "snake case" });

    const found = async (q: string) => {
      const list = listOf(
        await rest(t, "GET", `${tasksPath(user.id)}?q=${encodeURIComponent(q)}`, { token: user.token }),
      );
      return list.data.map((task) => task.id);
    };
    expect(await found("100%")).toEqual([percent.id]);
    expect(await found("%")).toEqual([percent.id]);
    expect(await found("e_c")).toEqual([underscore.id]);
    expect(await found("_")).toEqual([underscore.id]);
  });

  it("combines q and status", async () => {
    const user = await newUser("qstatus");
    const a = await create(user, { title: "report draft" });
    const b = await create(user, { title: "report final" });
    await create(user, { title: "other" });
    taskOf(await rest(t, "PATCH", completePath(user.id, b.id), { token: user.token, body: { is_completed: true } }));
    const list = listOf(await rest(t, "GET", `${tasksPath(user.id)}?q=report&status=pending`, { token: user.token }));
    expect(list.data.map((task) => task.id)).toEqual([a.id]);
    // Three creates and a completion: the change log is at 4.
    expect(list.meta).toEqual({ total: 1, count: 1, limit: 100, next_cursor: null, change_cursor: "4" });
  });

  it.each([
    ["status=done", "status"],
    ["status=PENDING", "status"],
    ["status=", "status"],
    ["sort=name", "sort"],
    ["sort=-id", "sort"],
    ["sort=created_at,title", "sort"],
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=-1", "limit"],
    ["limit=1.5", "limit"],
    ["limit=abc", "limit"],
    ["limit=", "limit"],
    ["limit=1e3", "limit"],
    ["cursor=garbage", "cursor"],
    ["cursor=", "cursor"],
    [`q=${"x".repeat(201)}`, "q"],
    ["q=a%00b", "q"],
  ])("refuses ?%s: 400 naming %s", async (query, field) => {
    const user = await newUser("query");
    const error = errorOf(
      await rest(t, "GET", `${tasksPath(user.id)}?${query}`, { token: user.token }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual([field]);
  });

  it("names every invalid query parameter at once", async () => {
    const user = await newUser("queries");
    const error = errorOf(
      await rest(t, "GET", `${tasksPath(user.id)}?status=x&sort=y&limit=0`, { token: user.token }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual(["status", "sort", "limit"]);
  });

  it.each([
    "status=constructor",
    "status=__proto__",
    "status=toString",
    "sort=constructor",
    "sort=__proto__",
    "sort=hasOwnProperty",
  ])("refuses ?%s (a name of Object.prototype) as a 400, not a 500", async (query) => {
    const user = await newUser("proto");
    const field = query.split("=")[0] ?? "";
    const error = errorOf(
      await rest(t, "GET", `${tasksPath(user.id)}?${query}`, { token: user.token }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual([field]);
  });

  it("refuses a cursor of another sort order", async () => {
    const user = await newUser("cursor-order");
    await create(user, { title: "one" });
    await create(user, { title: "two" });
    const page = listOf(await rest(t, "GET", `${tasksPath(user.id)}?sort=title&limit=1`, { token: user.token }));
    const cursor = page.meta.next_cursor ?? "";
    expect(cursor).not.toBe("");
    const error = errorOf(
      await rest(t, "GET", `${tasksPath(user.id)}?limit=1&cursor=${encodeURIComponent(cursor)}`, { token: user.token }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual(["cursor"]);
  });

  describe("a user with 1000 tasks", () => {
    const user = { id: "rest-thousand", token: "" };
    const words = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf"];
    const base = Date.parse("2025-01-01T00:00:00.000Z");
    type Row = {
      id: string;
      title: string;
      description: string | null;
      createdAt: Date;
      updatedAt: Date;
      isCompleted: boolean;
    };
    let rows: Row[] = [];

    beforeAll(async () => {
      user.token = await mintToken(user.id);
      // One API call makes the user exist; the tasks go straight into the database.
      expect(listOf(await rest(t, "GET", tasksPath(user.id), { token: user.token })).meta.total).toBe(0);
      // Few distinct titles and timestamps, so that every sort order has ties to break by id.
      await t.db.prisma.task.createMany({
        data: Array.from({ length: 1000 }, (_, i) => ({
          userId: user.id,
          title: `${words[i % words.length]} ${String(i % 13).padStart(2, "0")}`,
          description: i % 10 === 0 ? `needle ${i}` : null,
          isCompleted: i % 4 === 0,
          completedAt: i % 4 === 0 ? new Date(base) : null,
          createdAt: new Date(base + (i % 250) * 1000),
          updatedAt: new Date(base + ((i * 7) % 97) * 60_000),
        })),
      });
      rows = await t.db.prisma.task.findMany({
        where: { userId: user.id },
        select: { id: true, title: true, description: true, createdAt: true, updatedAt: true, isCompleted: true },
      });
      expect(rows).toHaveLength(1000);
    });

    const compare = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
    const keyOf = (sort: string) => (r: Row) =>
      sort.endsWith("title") ? r.title : (sort.endsWith("updated_at") ? r.updatedAt : r.createdAt).getTime();
    /** The order the contract promises: the field, then the id, both in the sort's direction. */
    function expectedOrder(sort: string, subset: Row[] = rows): string[] {
      const sign = sort.startsWith("-") ? -1 : 1;
      const key = keyOf(sort);
      return [...subset].sort((a, b) => sign * (compare(key(a), key(b)) || compare(a.id, b.id))).map((r) => r.id);
    }

    it("lists all 1000 in one call with limit=1000", async () => {
      const list = listOf(await rest(t, "GET", `${tasksPath(user.id)}?limit=1000`, { token: user.token }));
      expect(list.meta).toEqual({
        total: 1000,
        count: 1000,
        limit: 1000,
        next_cursor: null,
        change_cursor: expect.stringMatching(/^\d+$/),
      });
      expect(new Set(list.data.map((task) => task.id)).size).toBe(1000);
      expect(list.data.map((task) => task.id)).toEqual(expectedOrder("-created_at"));
      expect(list.data.every((task) => task.user_id === user.id)).toBe(true);
    });

    it("pages 100 at a time by default", async () => {
      const list = listOf(await rest(t, "GET", tasksPath(user.id), { token: user.token }));
      expect(list.meta).toMatchObject({ total: 1000, count: 100, limit: 100 });
      expect(list.meta.next_cursor).toEqual(expect.any(String));
      expect(list.data.map((task) => task.id)).toEqual(expectedOrder("-created_at").slice(0, 100));
    });

    it.each(["created_at", "-created_at", "updated_at", "-updated_at", "title", "-title"])(
      "sorts by %s, ties broken by id",
      async (sort) => {
        const list = listOf(
          await rest(t, "GET", `${tasksPath(user.id)}?limit=1000&sort=${sort}`, { token: user.token }),
        );
        expect(list.data.map((task) => task.id)).toEqual(expectedOrder(sort));
      },
    );

    it.each([
      ["-created_at", 137, "", (_: Row) => true],
      ["title", 250, "", (_: Row) => true],
      ["-updated_at", 99, "&status=pending", (r: Row) => !r.isCompleted],
      ["created_at", 7, "&q=NEEDLE", (r: Row) => r.description?.startsWith("needle") === true],
      ["-title", 1000, "&status=completed", (r: Row) => r.isCompleted],
    ])("walks every page of sort=%s with limit=%i%s: no duplicates, no gaps", async (sort, limit, extra, matches) => {
      const expected = expectedOrder(sort, rows.filter(matches));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const after = cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`;
        const page = listOf(
          await rest(t, "GET", `${tasksPath(user.id)}?sort=${sort}&limit=${limit}${extra}${after}`, {
            token: user.token,
          }),
        );
        expect(page.meta.total).toBe(expected.length);
        expect(page.meta.count).toBe(page.data.length);
        expect(page.meta.limit).toBe(limit);
        // Every page but the last is full.
        if (page.meta.next_cursor !== null) expect(page.data).toHaveLength(limit);
        seen.push(...page.data.map((task) => task.id));
        cursor = page.meta.next_cursor;
        pages++;
        expect(pages).toBeLessThanOrEqual(1000);
      } while (cursor !== null);

      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / limit));
    });
  });
});

describe("GET /api/{user_id}/tasks/{id}", () => {
  it("returns the task with an ETag of its version", async () => {
    const user = await newUser("getone");
    const task = await create(user, { title: "one", description: "desc" });
    const res = await rest(t, "GET", taskPath(user.id, task.id), { token: user.token });
    expect(taskOf(res)).toEqual(task);
    expect(res.headers.get("etag")).toBe(`"${task.version}"`);
  });

  it("accepts the id in upper case", async () => {
    const user = await newUser("upper");
    const task = await create(user);
    expect(taskOf(await rest(t, "GET", taskPath(user.id, task.id.toUpperCase()), { token: user.token }))).toEqual(task);
  });

  it("answers 404 for a task that does not exist", async () => {
    const user = await newUser("missing");
    const error = errorOf(
      await rest(t, "GET", taskPath(user.id, randomUUID()), { token: user.token }),
      404,
      "NOT_FOUND",
    );
    expect(error.message).toBe("Task not found.");
  });

  it.each(["not-a-uuid", "123", "00000000-0000-0000-0000-00000000000g", `${randomUUID()}x`])(
    "answers 400 naming id for the id %s",
    async (id) => {
      const user = await newUser("badid");
      for (const [method, path, body] of [
        ["GET", taskPath(user.id, id), undefined],
        ["PUT", taskPath(user.id, id), { title: "x" }],
        ["DELETE", taskPath(user.id, id), undefined],
        ["PATCH", completePath(user.id, id), undefined],
      ] as const) {
        const res = await rest(
          t,
          method,
          path,
          body === undefined ? { token: user.token } : { token: user.token, body },
        );
        expect(detailFields(errorOf(res, 400, "BAD_USER_INPUT")), `${method} ${path}`).toEqual(["id"]);
      }
    },
  );

  it("has an ETag that changes with every write", async () => {
    const user = await newUser("etag");
    const task = await create(user);
    const etag = async () =>
      (await rest(t, "GET", taskPath(user.id, task.id), { token: user.token })).headers.get("etag");
    expect(await etag()).toBe('"1"');
    taskOf(await rest(t, "PUT", taskPath(user.id, task.id), { token: user.token, body: { title: "renamed" } }));
    expect(await etag()).toBe('"2"');
    taskOf(await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token }));
    expect(await etag()).toBe('"3"');
    taskOf(
      await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token, body: { is_completed: false } }),
    );
    expect(await etag()).toBe('"4"');
    expect((await row(task.id))?.version).toBe(4);
  });
});

describe("PUT /api/{user_id}/tasks/{id}", () => {
  it("replaces title and description, raises the version and the ETag", async () => {
    const user = await newUser("put");
    const task = await create(user, { title: "old", description: "old text" });
    const res = await rest(t, "PUT", taskPath(user.id, task.id), {
      token: user.token,
      body: { title: " new ", description: "new text" },
    });
    const updated = taskOf(res);
    expect(updated).toMatchObject({
      id: task.id,
      user_id: user.id,
      title: "new",
      description: "new text",
      is_completed: false,
      version: 2,
      created_at: task.created_at,
    });
    expect(Date.parse(updated.updated_at)).toBeGreaterThanOrEqual(Date.parse(task.updated_at));
    expect(res.headers.get("etag")).toBe('"2"');
    expect(await row(task.id)).toMatchObject({ title: "new", description: "new text", version: 2 });
  });

  it("clears the description when it is left out or null", async () => {
    const user = await newUser("putdesc");
    const a = await create(user, { title: "a", description: "text" });
    const b = await create(user, { title: "b", description: "text" });
    expect(
      taskOf(await rest(t, "PUT", taskPath(user.id, a.id), { token: user.token, body: { title: "a" } })).description,
    ).toBeNull();
    expect(
      taskOf(
        await rest(t, "PUT", taskPath(user.id, b.id), { token: user.token, body: { title: "b", description: null } }),
      ).description,
    ).toBeNull();
    expect((await row(a.id))?.description).toBeNull();
    expect((await row(b.id))?.description).toBeNull();
  });

  it("keeps the completion when is_completed is left out, and sets it when given", async () => {
    const user = await newUser("putdone");
    const task = await create(user);
    const completed = taskOf(
      await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token, body: { is_completed: true } }),
    );
    expect(completed.completed_at).not.toBeNull();

    const kept = taskOf(
      await rest(t, "PUT", taskPath(user.id, task.id), { token: user.token, body: { title: "still done" } }),
    );
    expect(kept).toMatchObject({ is_completed: true, completed_at: completed.completed_at, title: "still done" });

    const reopened = taskOf(
      await rest(t, "PUT", taskPath(user.id, task.id), {
        token: user.token,
        body: { title: "open", is_completed: false },
      }),
    );
    expect(reopened).toMatchObject({ is_completed: false, completed_at: null });

    const done = taskOf(
      await rest(t, "PUT", taskPath(user.id, task.id), {
        token: user.token,
        body: { title: "done", is_completed: true },
      }),
    );
    expect(done.is_completed).toBe(true);
    expect(done.completed_at).not.toBeNull();
    expect(done.version).toBe(5);
  });

  it("never changes the owner or the id from the body", async () => {
    const user = await newUser("putsmuggle");
    const victim = await newUser("putsmuggle-victim");
    const task = await create(user);
    const smuggledId = randomUUID();
    const updated = taskOf(
      await rest(t, "PUT", taskPath(user.id, task.id), {
        token: user.token,
        body: { title: "mine", id: smuggledId, user_id: victim.id, userId: victim.id, version: 99, extra: [1, 2] },
      }),
    );
    expect(updated).toMatchObject({ id: task.id, user_id: user.id, title: "mine", version: 2 });
    expect(await row(task.id)).toMatchObject({ userId: user.id, title: "mine", version: 2 });
    expect(await row(smuggledId)).toBeNull();
    expect(await countOf(victim.id)).toBe(0);
  });

  it.each([
    ["title missing", { description: "x" }, "title"],
    ["title empty", { title: "" }, "title"],
    ["title too long", { title: "x".repeat(201) }, "title"],
    ["title a number", { title: 1 }, "title"],
    ["description too long", { title: "x", description: "y".repeat(1001) }, "description"],
    ["description a boolean", { title: "x", description: true }, "description"],
    ["is_completed a string", { title: "x", is_completed: "yes" }, "is_completed"],
    ["is_completed null", { title: "x", is_completed: null }, "is_completed"],
  ])("refuses %s: 400 naming the REST field, nothing written", async (_name, body, field) => {
    const user = await newUser("putinvalid");
    const task = await create(user, { title: "kept", description: "kept" });
    const before = await row(task.id);
    const error = errorOf(
      await rest(t, "PUT", taskPath(user.id, task.id), { token: user.token, body }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual([field]);
    expect(await row(task.id)).toEqual(before);
  });

  it("refuses malformed JSON (400) and non-JSON bodies (415), nothing written", async () => {
    const user = await newUser("putbody");
    const task = await create(user, { title: "kept" });
    const before = await row(task.id);
    await expectUnreadableBodiesRefused("PUT", taskPath(user.id, task.id), user.token, {
      malformed: ["{title", ""],
      json: '{"title":"x"}',
      form: "title=x",
    });
    expect(await row(task.id)).toEqual(before);
  });

  it("answers 404 for a task that does not exist, and creates none", async () => {
    const user = await newUser("put404");
    const id = randomUUID();
    errorOf(await rest(t, "PUT", taskPath(user.id, id), { token: user.token, body: { title: "x" } }), 404, "NOT_FOUND");
    expect(await row(id)).toBeNull();
    expect(await countOf(user.id)).toBe(0);
  });
});

describe("DELETE /api/{user_id}/tasks/{id}", () => {
  it("deletes: 204 without a body, then 404 for a second DELETE and for a GET", async () => {
    const user = await newUser("delete");
    const task = await create(user);
    const keep = await create(user, { title: "keep" });
    const res = await rest(t, "DELETE", taskPath(user.id, task.id), { token: user.token });
    expect(res.status).toBe(204);
    expect(res.text).toBe("");
    expect(await row(task.id)).toBeNull();
    errorOf(await rest(t, "DELETE", taskPath(user.id, task.id), { token: user.token }), 404, "NOT_FOUND");
    errorOf(await rest(t, "GET", taskPath(user.id, task.id), { token: user.token }), 404, "NOT_FOUND");
    expect(listOf(await rest(t, "GET", tasksPath(user.id), { token: user.token })).data.map((x) => x.id)).toEqual([
      keep.id,
    ]);
  });
});

describe("PATCH /api/{user_id}/tasks/{id}/complete", () => {
  it("toggles with no body: completes, then reopens", async () => {
    const user = await newUser("toggle");
    const task = await create(user);
    const first = await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token });
    const done = taskOf(first);
    expect(done).toMatchObject({ id: task.id, is_completed: true, version: 2 });
    expect(done.completed_at).toEqual(expect.any(String));
    expect(first.headers.get("etag")).toBe('"2"');

    const second = await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token });
    expect(taskOf(second)).toMatchObject({ id: task.id, is_completed: false, completed_at: null, version: 3 });
    expect(second.headers.get("etag")).toBe('"3"');
    expect(await row(task.id)).toMatchObject({ isCompleted: false, completedAt: null, version: 3 });
  });

  it("sets with {is_completed}: completing twice keeps completed_at; false reopens", async () => {
    const user = await newUser("setdone");
    const task = await create(user);
    const path = completePath(user.id, task.id);
    const done = taskOf(await rest(t, "PATCH", path, { token: user.token, body: { is_completed: true } }));
    expect(done.is_completed).toBe(true);
    const again = taskOf(await rest(t, "PATCH", path, { token: user.token, body: { is_completed: true } }));
    expect(again).toMatchObject({ is_completed: true, completed_at: done.completed_at });
    const open = taskOf(await rest(t, "PATCH", path, { token: user.token, body: { is_completed: false } }));
    expect(open).toMatchObject({ is_completed: false, completed_at: null });
    const stillOpen = taskOf(await rest(t, "PATCH", path, { token: user.token, body: { is_completed: false } }));
    expect(stillOpen).toMatchObject({ is_completed: false, completed_at: null });
    expect((await row(task.id))?.isCompleted).toBe(false);
  });

  it("ignores other fields in the body", async () => {
    const user = await newUser("patchextra");
    const task = await create(user, { title: "same" });
    const done = taskOf(
      await rest(t, "PATCH", completePath(user.id, task.id), {
        token: user.token,
        body: { is_completed: true, title: "changed?", user_id: "someone", id: randomUUID() },
      }),
    );
    expect(done).toMatchObject({ id: task.id, user_id: user.id, title: "same", is_completed: true });
  });

  it.each([
    ["an empty object", "{}"],
    ["is_completed a string", '{"is_completed":"true"}'],
    ["is_completed a number", '{"is_completed":1}'],
    ["is_completed null", '{"is_completed":null}'],
  ])("refuses %s: 400 naming is_completed, nothing written", async (_name, rawBody) => {
    const user = await newUser("patchinvalid");
    const task = await create(user);
    const before = await row(task.id);
    const error = errorOf(
      await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token, rawBody }),
      400,
      "BAD_USER_INPUT",
    );
    expect(detailFields(error)).toEqual(["is_completed"]);
    expect(await row(task.id)).toEqual(before);
  });

  it("refuses malformed JSON (400) and non-JSON bodies (415), nothing written", async () => {
    const user = await newUser("patchbody");
    const task = await create(user);
    const before = await row(task.id);
    await expectUnreadableBodiesRefused("PATCH", completePath(user.id, task.id), user.token, {
      malformed: ["{is_completed: true}", "[]"],
      json: '{"is_completed":true}',
      form: "is_completed=true",
    });
    expect(await row(task.id)).toEqual(before);
  });

  it("answers 404 for a task that does not exist, with or without a body", async () => {
    const user = await newUser("patch404");
    const path = completePath(user.id, randomUUID());
    errorOf(await rest(t, "PATCH", path, { token: user.token }), 404, "NOT_FOUND");
    errorOf(await rest(t, "PATCH", path, { token: user.token, body: { is_completed: true } }), 404, "NOT_FOUND");
  });
});

describe("If-Match", () => {
  const writes = (user: string, id: string) =>
    [
      ["PUT", taskPath(user, id), { title: "changed" }],
      ["PATCH", completePath(user, id), undefined],
      ["PATCH", completePath(user, id), { is_completed: true }],
      ["DELETE", taskPath(user, id), undefined],
    ] as const;

  it.each(['"2"', '"999"', '"0"', '"01"', "abc", '"1" x', "W/abc", '""'])(
    "refuses every write with If-Match: %s when the task is at version 1: 412, nothing changes",
    async (ifMatch) => {
      const user = await newUser("ifmatch");
      const task = await create(user, { title: "original", description: "text" });
      const before = await row(task.id);
      for (const [method, path, body] of writes(user.id, task.id)) {
        const options = { token: user.token, headers: { "if-match": ifMatch } };
        const res = await rest(t, method, path, body === undefined ? options : { ...options, body });
        expect(res.status, `${method} ${path}`).toBe(412);
        errorOf(res, 412, "PRECONDITION_FAILED");
      }
      expect(await row(task.id)).toEqual(before);
    },
  );

  it("lets every write through with the current ETag, which then moves on", async () => {
    const user = await newUser("ifmatch-ok");
    const task = await create(user);
    let etag = (await rest(t, "GET", taskPath(user.id, task.id), { token: user.token })).headers.get("etag") ?? "";
    for (const [method, path, body] of writes(user.id, task.id)) {
      const options = { token: user.token, headers: { "if-match": etag } };
      const res = await rest(t, method, path, body === undefined ? options : { ...options, body });
      if (method === "DELETE") {
        expect(res.status).toBe(204);
      } else {
        const updated = taskOf(res);
        const next = res.headers.get("etag") ?? "";
        expect(next).toBe(`"${updated.version}"`);
        expect(next).not.toBe(etag);
        etag = next;
      }
    }
    expect(await row(task.id)).toBeNull();
  });

  it("treats If-Match: * as no precondition", async () => {
    const user = await newUser("ifmatch-star");
    const task = await create(user);
    taskOf(
      await rest(t, "PUT", taskPath(user.id, task.id), {
        token: user.token,
        headers: { "if-match": "*" },
        body: { title: "x" },
      }),
    );
    taskOf(await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token, headers: { "if-match": "*" } }));
    expect(
      (await rest(t, "DELETE", taskPath(user.id, task.id), { token: user.token, headers: { "if-match": "*" } })).status,
    ).toBe(204);
  });

  it("refuses a stale ETag after someone else's write", async () => {
    const user = await newUser("ifmatch-stale");
    const task = await create(user);
    const read = await rest(t, "GET", taskPath(user.id, task.id), { token: user.token });
    const etag = read.headers.get("etag") ?? "";
    taskOf(await rest(t, "PATCH", completePath(user.id, task.id), { token: user.token }));
    const before = await row(task.id);
    errorOf(
      await rest(t, "PUT", taskPath(user.id, task.id), {
        token: user.token,
        headers: { "if-match": etag },
        body: { title: "lost update" },
      }),
      412,
      "PRECONDITION_FAILED",
    );
    expect(await row(task.id)).toEqual(before);
    expect(before).toMatchObject({ title: "a task", version: 2 });
  });

  it("says 404, not 412, for a missing task", async () => {
    const user = await newUser("ifmatch-missing");
    const id = randomUUID();
    for (const [method, path, body] of writes(user.id, id)) {
      const options = { token: user.token, headers: { "if-match": '"1"' } };
      errorOf(await rest(t, method, path, body === undefined ? options : { ...options, body }), 404, "NOT_FOUND");
    }
  });
});

describe("methods and paths", () => {
  it.each([
    ["/api/rest-405/tasks", ["PUT", "DELETE", "PATCH", "OPTIONS"]],
    [`/api/rest-405/tasks/${randomUUID()}`, ["POST", "PATCH", "OPTIONS"]],
    [`/api/rest-405/tasks/${randomUUID()}/complete`, ["GET", "POST", "PUT", "DELETE", "OPTIONS"]],
  ])("answers 405 with Allow on %s for undocumented methods", async (path, methods) => {
    const token = await mintToken("rest-405");
    for (const method of methods) {
      const res = await rest(t, method, path, { token });
      const error = errorOf(res, 405, "METHOD_NOT_ALLOWED");
      expect(error.message).toContain(method);
      expect(res.headers.get("allow")).toEqual(expect.any(String));
    }
  });

  it.each([
    "/api/nothing-here",
    "/api/rest-404",
    "/api/rest-404/tasks/",
    "/api/rest-404/task",
    `/api/rest-404/tasks/${randomUUID()}/completed`,
    `/api/rest-404/tasks/${randomUUID()}/complete/again`,
    "/api/v2/rest-404/tasks",
  ])("answers 404 in the error format for the unknown path %s", async (path) => {
    const token = await mintToken("rest-404");
    for (const method of ["GET", "POST", "DELETE"]) {
      const error = errorOf(await rest(t, method, path, { token }), 404, "NOT_FOUND");
      expect(error.message).toContain(path);
    }
  });
});

describe("request bodies over MAX_BODY_BYTES", () => {
  let small: TestApp;
  const user = { id: "rest-413", token: "" };
  beforeAll(async () => {
    small = await startTestApp({ MAX_BODY_BYTES: "2048" });
    user.token = await mintToken(user.id);
  });
  afterAll(() => small.close());

  /** A JSON body of exactly `bytes` bytes: a valid task padded with an ignored field. */
  function bodyOf(bytes: number, fields: Record<string, unknown>): string {
    const empty = JSON.stringify({ ...fields, padding: "" });
    return JSON.stringify({ ...fields, padding: "p".repeat(bytes - Buffer.byteLength(empty)) });
  }

  it("accepts a body of exactly the limit", async () => {
    const rawBody = bodyOf(2048, { title: "fits" });
    expect(Buffer.byteLength(rawBody)).toBe(2048);
    expect(taskOf(await rest(small, "POST", tasksPath(user.id), { token: user.token, rawBody }), 201).title).toBe(
      "fits",
    );
  });

  it("refuses one byte more on POST, PUT and PATCH with 413, nothing written", async () => {
    const task = taskOf(
      await rest(small, "POST", tasksPath(user.id), { token: user.token, body: { title: "small" } }),
      201,
    );
    const before = await small.db.prisma.task.findUnique({ where: { id: task.id } });
    const count = await small.db.prisma.task.count();
    for (const [method, path, fields] of [
      ["POST", tasksPath(user.id), { title: "too big" }],
      ["PUT", taskPath(user.id, task.id), { title: "too big" }],
      ["PATCH", completePath(user.id, task.id), { is_completed: true }],
    ] as const) {
      const rawBody = bodyOf(2049, fields);
      expect(Buffer.byteLength(rawBody)).toBe(2049);
      errorOf(await rest(small, method, path, { token: user.token, rawBody }), 413, "PAYLOAD_TOO_LARGE");
      // The same with a Content-Length header, as an HTTP client would send it.
      errorOf(
        await rest(small, method, path, {
          token: user.token,
          rawBody,
          headers: { "content-length": "2049", "content-type": "application/json" },
        }),
        413,
        "PAYLOAD_TOO_LARGE",
      );
    }
    expect(await small.db.prisma.task.findUnique({ where: { id: task.id } })).toEqual(before);
    expect(await small.db.prisma.task.count()).toBe(count);
  });

  it("refuses a large body before looking at the token or the content type", async () => {
    const rawBody = "x".repeat(10_000);
    errorOf(await rest(small, "POST", tasksPath(user.id), { rawBody }), 413, "PAYLOAD_TOO_LARGE");
    errorOf(
      await rest(small, "POST", tasksPath(user.id), {
        token: user.token,
        rawBody,
        headers: { "content-type": "text/plain" },
      }),
      413,
      "PAYLOAD_TOO_LARGE",
    );
  });
});
