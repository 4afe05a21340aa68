import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headOf, headsOf, purgeChanges } from "../src/db/changes.js";
import type { TaskEventFieldsFragment } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { usingPostgres, withClient } from "./helpers/database.js";
import { codesOf, dataOf, execute } from "./helpers/graphql.js";
import { subscribeSse } from "./helpers/live.js";
import {
  AddTaskLabels,
  CreateTask,
  DeleteLabel,
  DeleteTask,
  GetTask,
  ListLabels,
  ListTasksWithChangeCursor,
  RemoveTaskLabels,
  TaskChanges,
  ToggleTaskCompleted,
  UpdateLabel,
  UpdateTask,
} from "./helpers/operations.js";
import { checkAgainstContract, errorOf, rest } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * The change log through HTTP: every write records its event, in commit
 * order, with the whole task; a list's changeCursor and the feed fit
 * together; cursors are refused when they are not the caller's or have
 * expired; the live stream over SSE replays, then follows, then ends when
 * the token does.
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ CHANGE_PURGE_INTERVAL_MS: "100", LIVE_POLL_MS: "200", LIVE_MAX_STREAMS_PER_USER: "3" });
});
afterAll(() => t.close());

async function newUser(name: string) {
  const id = `changes-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

async function changeCursorOf(token: string): Promise<string> {
  return dataOf(await execute(t, ListTasksWithChangeCursor, { first: 1 }, token)).tasks.changeCursor;
}

async function changesAfter(token: string, after: string, first?: number) {
  return dataOf(await execute(t, TaskChanges, { after, ...(first ? { first } : {}) }, token)).taskChanges;
}

async function create(token: string, title: string, labels: string[] = []) {
  return dataOf(await execute(t, CreateTask, { input: { title, labels } }, token)).createTask;
}

describe("the change log", () => {
  it("records every kind of write, through GraphQL and REST, in order, with the whole task", async () => {
    const user = await newUser("kinds");
    const start = await changeCursorOf(user.token);
    expect(start).toBe("0");

    const plain = await create(user.token, "plain");
    const labelled = await create(user.token, "labelled", ["home"]);
    await execute(t, UpdateTask, { id: plain.id, input: { title: "plain, renamed", priority: "HIGH" } }, user.token);
    await execute(t, UpdateTask, { id: plain.id, input: { labels: ["work"] } }, user.token);
    await execute(t, ToggleTaskCompleted, { id: plain.id }, user.token);
    await execute(t, AddTaskLabels, { id: labelled.id, names: ["errand"] }, user.token);
    await execute(t, RemoveTaskLabels, { id: labelled.id, names: ["home"] }, user.token);
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    const errand = labels.find((label) => label.name === "errand");
    await execute(t, UpdateLabel, { id: errand?.id ?? "", input: { name: "Errands" } }, user.token);
    await execute(t, DeleteLabel, { id: errand?.id ?? "" }, user.token);
    const restMade = await rest(t, "POST", `/api/${user.id}/tasks`, { token: user.token, body: { title: "by REST" } });
    const restId = (restMade.body as { data: { id: string } }).data.id;
    await rest(t, "PATCH", `/api/${user.id}/tasks/${restId}/complete`, { token: user.token });
    await rest(t, "PUT", `/api/${user.id}/tasks/${restId}`, { token: user.token, body: { title: "by REST, put" } });
    await rest(t, "DELETE", `/api/${user.id}/tasks/${restId}`, { token: user.token });
    await execute(t, DeleteTask, { id: plain.id }, user.token);

    const feed = await changesAfter(user.token, start);
    const summary = feed.events.map((event) => [event.kind, event.taskId, event.version]);
    expect(summary).toEqual([
      ["CREATED", plain.id, 1],
      ["CREATED", labelled.id, 1],
      ["UPDATED", plain.id, 2],
      ["UPDATED", plain.id, 3],
      ["UPDATED", plain.id, 4],
      ["UPDATED", labelled.id, 2],
      ["UPDATED", labelled.id, 3],
      ["UPDATED", labelled.id, 4], // the label's rename
      ["UPDATED", labelled.id, 5], // the label's deletion
      ["CREATED", restId, 1],
      ["UPDATED", restId, 2],
      ["UPDATED", restId, 3],
      ["DELETED", restId, 3],
      ["DELETED", plain.id, 4],
    ]);
    // Cursors grow; the feed ends where its last event is.
    const cursors = feed.events.map((event) => BigInt(event.cursor));
    expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : 1)));
    expect(new Set(cursors).size).toBe(cursors.length);
    expect(feed.endCursor).toBe(feed.events.at(-1)?.cursor);
    expect(feed.hasMore).toBe(false);

    // Each event carries the task as it was right after that change.
    const byIndex = (i: number) => feed.events[i] as TaskEventFieldsFragment;
    expect(byIndex(2).task).toMatchObject({ title: "plain, renamed", priority: "HIGH", version: 2, labels: [] });
    expect(byIndex(3).task?.labels.map((label) => label.name)).toEqual(["work"]);
    expect(byIndex(4).task).toMatchObject({ isCompleted: true, version: 4 });
    expect(byIndex(5).task?.labels.map((label) => label.name)).toEqual(["errand", "home"]);
    expect(byIndex(7).task?.labels.map((label) => label.name)).toEqual(["Errands"]);
    expect(byIndex(8).task?.labels).toEqual([]);
    expect(byIndex(12).task).toBeNull();
    expect(byIndex(12).task).toBeNull();
    expect(byIndex(0).task?.owner).toEqual({ id: user.id, email: null });

    // Nothing after the end.
    expect((await changesAfter(user.token, feed.endCursor)).events).toEqual([]);
    // The list's cursor is the end now.
    expect(await changeCursorOf(user.token)).toBe(feed.endCursor);
  });

  it("records nothing for a write that does not happen", async () => {
    const user = await newUser("refused");
    const task = await create(user.token, "kept");
    const before = await changeCursorOf(user.token);
    // A version conflict, a missing task, too many labels (the transaction rolls back), a bad title.
    expect(
      codesOf(await execute(t, UpdateTask, { id: task.id, input: { title: "x", expectedVersion: 7 } }, user.token)),
    ).toEqual(["CONFLICT"]);
    expect(codesOf(await execute(t, DeleteTask, { id: randomUUID() }, user.token))).toEqual(["NOT_FOUND"]);
    const many = Array.from({ length: 21 }, (_, i) => `l${i}`);
    expect(codesOf(await execute(t, AddTaskLabels, { id: task.id, names: many }, user.token))).toEqual([
      "BAD_USER_INPUT",
    ]);
    expect(codesOf(await execute(t, UpdateTask, { id: task.id, input: { title: " " } }, user.token))).toEqual([
      "BAD_USER_INPUT",
    ]);
    expect(await changeCursorOf(user.token)).toBe(before);
    expect((await changesAfter(user.token, before)).events).toEqual([]);
  });

  it("records a label's new color on each task carrying it", async () => {
    const user = await newUser("color");
    const task = await create(user.token, "colored", ["paint"]);
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    const before = await changeCursorOf(user.token);
    await execute(t, UpdateLabel, { id: labels[0]?.id ?? "", input: { color: "#ff0000" } }, user.token);
    const feed = await changesAfter(user.token, before);
    expect(feed.events.map((event) => [event.kind, event.taskId, event.version])).toEqual([["UPDATED", task.id, 2]]);
    expect(feed.events[0]?.task?.labels).toEqual([expect.objectContaining({ name: "paint", color: "#ff0000" })]);
  });

  it("under concurrent label renames and writes, replaying the feed gives each task as it is", async () => {
    // On PostgreSQL these really run at once (the embedded database takes them in turn).
    const user = await newUser("race");
    const tasks = [await create(user.token, "one", ["shared"]), await create(user.token, "two", ["shared"])];
    const { labels } = dataOf(await execute(t, ListLabels, {}, user.token));
    const shared = labels[0]?.id ?? "";
    await Promise.all([
      ...Array.from({ length: 8 }, (_, i) =>
        execute(t, UpdateLabel, { id: shared, input: { name: `shared ${i}` } }, user.token),
      ),
      ...tasks.flatMap((task) =>
        Array.from({ length: 6 }, (_, i) =>
          i % 2 === 0
            ? execute(t, ToggleTaskCompleted, { id: task.id }, user.token)
            : execute(t, UpdateTask, { id: task.id, input: { title: `${task.title} ${i}` } }, user.token),
        ),
      ),
      execute(t, AddTaskLabels, { id: tasks[0]?.id ?? "", names: ["extra"] }, user.token),
    ]);
    const last = new Map<string, TaskEventFieldsFragment>();
    for (const event of (await changesAfter(user.token, "0", 500)).events) last.set(event.taskId, event);
    for (const task of tasks) {
      const now = dataOf(await execute(t, GetTask, { id: task.id }, user.token)).task;
      const replayed = last.get(task.id)?.task;
      expect(replayed).toEqual(now);
    }
  });

  it("pages in cursor order without a gap or a repeat", async () => {
    const user = await newUser("pages");
    for (let i = 0; i < 7; i++) await create(user.token, `task ${i}`);
    const seen: string[] = [];
    const more: boolean[] = [];
    let after = "0";
    for (;;) {
      const page = await changesAfter(user.token, after, 3);
      seen.push(...page.events.map((event) => event.task?.title ?? ""));
      more.push(page.hasMore);
      after = page.endCursor;
      if (!page.hasMore) break;
    }
    expect(seen).toEqual(Array.from({ length: 7 }, (_, i) => `task ${i}`));
    expect(more).toEqual([true, true, false]);
    // A page exactly as large as what is left has nothing more; one smaller does.
    expect((await changesAfter(user.token, "0", 7)).hasMore).toBe(false);
    expect((await changesAfter(user.token, "1", 6)).hasMore).toBe(false);
    expect((await changesAfter(user.token, "1", 5)).hasMore).toBe(true);
  });

  it("gives a list's changeCursor from the same snapshot as its page", async () => {
    const user = await newUser("snapshot");
    const task = await create(user.token, "one");
    const { tasks } = dataOf(await execute(t, ListTasksWithChangeCursor, { first: 10 }, user.token));
    expect(tasks.edges.map((edge) => edge.node.id)).toEqual([task.id]);
    expect(tasks.totalCount).toBe(1);
    await execute(t, UpdateTask, { id: task.id, input: { title: "two" } }, user.token);
    const feed = await changesAfter(user.token, tasks.changeCursor);
    expect(feed.events.map((event) => [event.kind, event.version])).toEqual([["UPDATED", 2]]);
  });

  it.runIf(usingPostgres)(
    "gives the cursor of what the page shows when a write lands while the page is read",
    async () => {
      const user = await newUser("racing");
      const task = await create(user.token, "before");
      await withClient(t.database, async (writer) => {
        try {
          // Hold the tasks table so that the list's page read waits, then commit a write (as the API writes:
          // the row and the user's head together) while it waits: the page it then reads shows the write.
          await writer.query("BEGIN");
          await writer.query("LOCK TABLE tasks IN ACCESS EXCLUSIVE MODE");
          const listing = execute(t, ListTasksWithChangeCursor, { first: 10 }, user.token);
          await expect
            .poll(async () => {
              const { rows } = await writer.query<{ waiting: number }>(
                `SELECT count(*)::int AS waiting FROM pg_locks
                 WHERE relation = 'tasks'::regclass AND NOT granted`,
              );
              return rows[0]?.waiting;
            })
            .toBe(1);
          await writer.query("UPDATE tasks SET title = 'during', version = version + 1 WHERE id = $1", [task.id]);
          const { rows } = await writer.query<{ head: string }>(
            "UPDATE users SET change_seq = change_seq + 1 WHERE id = $1 RETURNING change_seq::text AS head",
            [user.id],
          );
          await writer.query("COMMIT");
          const { tasks } = dataOf(await listing);
          expect(tasks.edges.map((edge) => [edge.node.title, edge.node.version])).toEqual([["during", 2]]);
          // The cursor is the one the page is the state of: not the head read before the write landed.
          expect(tasks.changeCursor).toBe(rows[0]?.head);
        } finally {
          await writer.query("ROLLBACK").catch(() => {});
        }
      });
    },
  );

  it("is each user's own: other users' writes never show, and no cursor reaches them", async () => {
    const alice = await newUser("alice");
    const bob = await newUser("bob");
    await create(alice.token, "alice's");
    await create(alice.token, "alice's second");
    await create(bob.token, "bob's");
    const bobs = await changesAfter(bob.token, "0");
    expect(bobs.events.map((event) => event.task?.title)).toEqual(["bob's"]);
    // Alice's cursors mean positions in Bob's own log, never Alice's events.
    const beyond = await execute(t, TaskChanges, { after: "2" }, bob.token);
    expect(codesOf(beyond)).toEqual(["BAD_USER_INPUT"]);
    expect(beyond.errors?.[0]?.message).toBe("after: This cursor is beyond your latest change: it is not yours.");
    expect(JSON.stringify(beyond.errors)).not.toContain("alice");
    // Bob's own head is a cursor of his: nothing after it yet.
    expect(await changesAfter(bob.token, "1")).toMatchObject({ events: [], hasMore: false, endCursor: "1" });
  });

  it("the live feed's fallback poll reads many users' heads in one statement, and none without one", async () => {
    const alice = await newUser("heads-a");
    const bob = await newUser("heads-b");
    await create(alice.token, "one");
    await create(alice.token, "two");
    await create(bob.token, "three");
    t.queries.length = 0;
    const heads = await headsOf(t.db.prisma, [alice.id, bob.id, "heads-nobody"]);
    expect(heads).toEqual(
      new Map([
        [alice.id, 2n],
        [bob.id, 1n],
      ]),
    );
    expect(t.queries).toHaveLength(1);
    expect(await headsOf(t.db.prisma, [])).toEqual(new Map());
    expect(t.queries).toHaveLength(1);
    expect(await headOf(t.db.prisma, alice.id)).toBe(2n);
    expect(await headOf(t.db.prisma, "heads-nobody")).toBe(0n);
  });

  it.runIf(usingPostgres)("a purge round is skipped while another instance purges", async () => {
    const user = await newUser("purge-lock");
    await create(user.token, "aged");
    const events = async () =>
      (
        await t.db.prisma.$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM task_events WHERE user_id = ${user.id}`
      )[0]?.n;
    await withClient(t.database, async (other) => {
      // What purgeChanges takes per round, held here as another instance would.
      await other.query("SELECT pg_advisory_lock(hashtextextended('tasks-api:purge-changes', 0))");
      // Aged only now that the lock is held, so the app's own purge timer cannot take it first.
      await t.db.prisma.$executeRaw`
        UPDATE task_events SET occurred_at = now() - interval '30 days' WHERE user_id = ${user.id}`;
      expect(await purgeChanges(t.db.prisma, new Date(Date.now() - 20 * 86_400_000))).toBe(0);
      expect(await events()).toBe(1);
      await other.query("SELECT pg_advisory_unlock(hashtextextended('tasks-api:purge-changes', 0))");
      // Free again: this round, or the app's own, drops it.
      await expect
        .poll(async () => {
          await purgeChanges(t.db.prisma, new Date(Date.now() - 20 * 86_400_000));
          return events();
        })
        .toBe(0);
    });
  });

  it("refuses what is not a cursor, with a message that says what to use", async () => {
    const user = await newUser("bad-cursor");
    for (const after of ["", "abc", "-1", "1.5", "01", " 1", "99999999999999999999", "1e3"]) {
      const response = await execute(t, TaskChanges, { after }, user.token);
      expect(codesOf(response), after).toEqual(["BAD_USER_INPUT"]);
      expect(response.errors?.[0]?.message).toMatch(/cursor/);
    }
    for (const first of [0, 501, -1]) {
      expect(codesOf(await execute(t, TaskChanges, { after: "0", first }, user.token))).toEqual(["BAD_USER_INPUT"]);
    }
    expect(codesOf(await execute(t, TaskChanges, { after: "0" }))).toEqual(["UNAUTHENTICATED"]);
  });

  it("drops events past the retention, and then refuses older cursors with CURSOR_EXPIRED (REST 410)", async () => {
    const user = await newUser("expired");
    await create(user.token, "old");
    await create(user.token, "old too");
    await create(user.token, "new");
    // Age the first two events past the retention (7 days by default); the purge runs every 100 ms here.
    await t.db.prisma.$executeRaw`
      UPDATE task_events SET occurred_at = now() - interval '8 days' WHERE user_id = ${user.id} AND seq <= 2`;
    await expect
      .poll(async () => codesOf(await execute(t, TaskChanges, { after: "1" }, user.token)), { timeout: 5_000 })
      .toEqual(["CURSOR_EXPIRED"]);
    const expired = await execute(t, TaskChanges, { after: "0" }, user.token);
    expect(expired.errors?.[0]?.message).toMatch(/list the tasks afresh/);
    // From the retention mark on, nothing is missing.
    expect((await changesAfter(user.token, "2")).events.map((event) => event.task?.title)).toEqual(["new"]);

    const gone = await rest(t, "GET", `/api/${user.id}/tasks/changes?after=1`, { token: user.token });
    expect(errorOf(gone, 410, "CURSOR_EXPIRED").message).toMatch(/list the tasks afresh/);
  });
});

describe("GET /api/{user_id}/tasks/changes", () => {
  it("pages the same log as GraphQL, in the documented shape", async () => {
    const user = await newUser("rest");
    const list = await rest(t, "GET", `/api/${user.id}/tasks`, { token: user.token });
    const changeCursor = (list.body as { meta: { change_cursor: string } }).meta.change_cursor;
    expect(changeCursor).toBe("0");
    const made = await create(user.token, "from GraphQL", ["home"]);
    await execute(t, DeleteTask, { id: made.id }, user.token);

    const url = `/api/${user.id}/tasks/changes?after=${changeCursor}&limit=1`;
    const first = await rest(t, "GET", url, { token: user.token });
    checkAgainstContract("GET", url, first);
    expect(first.body).toMatchObject({
      data: [
        {
          cursor: "1",
          kind: "created",
          task_id: made.id,
          version: 1,
          task: { id: made.id, user_id: user.id, title: "from GraphQL", labels: ["home"] },
        },
      ],
      meta: { count: 1, limit: 1, next_cursor: "1", has_more: true },
    });
    const second = await rest(t, "GET", `/api/${user.id}/tasks/changes?after=1`, { token: user.token });
    expect(second.body).toMatchObject({
      data: [{ cursor: "2", kind: "deleted", task_id: made.id, version: 1, task: null }],
      meta: { next_cursor: "2", has_more: false },
    });
  });

  it("refuses a missing or bad cursor or limit with 400, and another user's path with 403", async () => {
    const user = await newUser("rest-bad");
    const other = await newUser("rest-other");
    for (const query of ["", "?after=x", "?after=0&limit=0", "?after=0&limit=501", "?after=0&limit=ten"]) {
      const response = await rest(t, "GET", `/api/${user.id}/tasks/changes${query}`, { token: user.token });
      expect(errorOf(response, 400, "BAD_USER_INPUT").details?.[0]?.field, query).toMatch(/^(after|limit)$/);
    }
    const forbidden = await rest(t, "GET", `/api/${other.id}/tasks/changes?after=0`, { token: user.token });
    expect(forbidden.status).toBe(403);
    const post = await rest(t, "POST", `/api/${user.id}/tasks/changes`, { token: user.token, body: {} });
    expect(post.status).toBe(405);
  });
});

describe("subscription taskEvents over SSE", () => {
  const fetcher = (path: string, init: RequestInit) => t.request(path, init);

  it("replays after the cursor, then streams new changes from GraphQL and REST, without repeats", async () => {
    const user = await newUser("sse");
    const first = await create(user.token, "before");
    const cursor = await changeCursorOf(user.token);
    const second = await create(user.token, "missed while away");
    const stream = await subscribeSse(fetcher, user.token, { after: cursor });
    try {
      expect(stream.response?.status).toBe(200);
      expect(stream.response?.headers.get("content-type")).toMatch(/^text\/event-stream/);
      expect(stream.response?.headers.get("x-accel-buffering")).toBe("no");
      const [replayed] = await stream.take(1);
      expect(replayed).toMatchObject({ kind: "CREATED", taskId: second.id });
      await execute(t, ToggleTaskCompleted, { id: first.id }, user.token);
      await rest(t, "DELETE", `/api/${user.id}/tasks/${second.id}`, { token: user.token });
      const live = await stream.take(2);
      expect(live.map((event) => [event.kind, event.taskId, event.version])).toEqual([
        ["UPDATED", first.id, 2],
        ["DELETED", second.id, 1],
      ]);
      expect(live[0]?.task?.isCompleted).toBe(true);
      expect(await stream.quiet(300)).toBe(true);
    } finally {
      stream.close();
    }
  });

  it("without a cursor starts from now; another user's changes never arrive", async () => {
    const user = await newUser("sse-now");
    const other = await newUser("sse-other");
    await create(user.token, "old news");
    const stream = await subscribeSse(fetcher, user.token);
    try {
      await create(other.token, "not yours");
      const mine = await create(user.token, "fresh");
      const [event] = await stream.take(1);
      expect(event).toMatchObject({ kind: "CREATED", taskId: mine.id });
      expect(await stream.quiet(300)).toBe(true);
    } finally {
      stream.close();
    }
  });

  it("refuses a bad or foreign cursor, no token, and more open streams than the cap", async () => {
    // Places are freed as closed streams end, asynchronously: on a loaded machine (or instrumented
    // for mutation testing) that takes longer than expect.poll's default second.
    const slowPoll = { timeout: 20_000, interval: 250 };
    const user = await newUser("sse-refused");
    const beyond = await subscribeSse(fetcher, user.token, { after: "5" });
    expect(codesOf((await beyond.next()) as never)).toEqual(["BAD_USER_INPUT"]);
    beyond.close();
    const anonymous = await fetcher("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: "subscription { taskEvents { cursor } }" }),
    });
    expect(await anonymous.text()).toContain("UNAUTHENTICATED");

    // Asked for all at once, with a replay each (which awaits before the stream starts): three get a place.
    await create(user.token, "to replay");
    const racing = await Promise.all(
      Array.from({ length: 6 }, () => subscribeSse(fetcher, user.token, { after: "0" })),
    );
    const firsts = await Promise.all(racing.map((stream) => stream.next()));
    expect(firsts.map((message) => codesOf(message as never)[0] ?? message.data?.taskEvents.kind).sort()).toEqual([
      "CREATED",
      "CREATED",
      "CREATED",
      "RATE_LIMITED",
      "RATE_LIMITED",
      "RATE_LIMITED",
    ]);
    for (const stream of racing) stream.close();
    // Closing frees all three places (the streams end asynchronously).
    // Streams that got their place are kept while refused ones are retried, so that no round races
    // its new streams against the release of its own last ones.
    const held: Awaited<ReturnType<typeof subscribeSse>>[] = [];
    await expect
      .poll(async () => {
        while (held.length < 3) {
          const stream = await subscribeSse(fetcher, user.token, { after: "0" });
          const first = await stream.next(3_000).catch(() => ({}));
          if (codesOf(first as never).length > 0 || !("data" in first)) {
            stream.close();
            return held.length;
          }
          held.push(stream);
        }
        return held.length;
      }, slowPoll)
      .toBe(3);
    for (const stream of held) stream.close();

    const open: Awaited<ReturnType<typeof subscribeSse>>[] = [];
    await expect
      .poll(async () => {
        // Streams that hold a place (quiet: no refusal) stay open; refused ones are replaced. (Closing
        // them all each round would race every new stream against the release of the last round's.)
        const verdicts = await Promise.all(open.map((stream) => stream.quiet(100)));
        const kept = open.filter((stream, i) => {
          if (!verdicts[i]) stream.close();
          return verdicts[i];
        });
        open.splice(0, open.length, ...kept);
        while (open.length < 3) open.push(await subscribeSse(fetcher, user.token));
        return Promise.all(open.map((stream) => stream.quiet(100)));
      }, slowPoll)
      .toEqual([true, true, true]);
    try {
      // Each of the three is open (it receives events) before the fourth asks.
      await create(user.token, "ping");
      for (const stream of open) await stream.take(1);
      const fourth = await subscribeSse(fetcher, user.token);
      expect(codesOf((await fourth.next()) as never)).toEqual(["RATE_LIMITED"]);
      fourth.close();
    } finally {
      for (const stream of open) stream.close();
    }
    // Closing frees the places.
    await expect
      .poll(async () => {
        const again = await subscribeSse(fetcher, user.token);
        await create(user.token, "after closing");
        const message = await again.next(3_000).catch(() => ({}));
        again.close();
        return codesOf(message as never);
      }, slowPoll)
      .toEqual([]);
  });

  it("ends with UNAUTHENTICATED when the token expires", async () => {
    const user = await newUser("sse-expiry");
    const token = await mintToken(user.id, { expiresIn: 2 });
    const stream = await subscribeSse(fetcher, token);
    try {
      const message = await stream.next(6_000);
      expect(codesOf(message as never)).toEqual(["UNAUTHENTICATED"]);
      expect(message.errors?.[0]?.message).toMatch(/expired/);
    } finally {
      stream.close();
    }
  });
});
