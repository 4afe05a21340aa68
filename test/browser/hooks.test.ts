// @vitest-environment jsdom
import { randomUUID } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, cleanup, renderHook, waitFor } from "@testing-library/react";
import { createElement, type ReactNode } from "react";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import {
  createTasksClient,
  isVersionConflict,
  type TasksClient,
  TasksDocument,
  type TokenProvider,
} from "../../client/index.js";
import {
  isPending,
  TasksApiProvider,
  useCreateTask,
  useDeleteTask,
  useLabels,
  useLiveTasks,
  useSetTaskCompleted,
  useTaskList,
  useUpdateTask,
} from "../../client/react.js";
import { killAllServers, type RunningServer, startServer, waitReady } from "../helpers/server.js";

/**
 * The React hooks (tasks-api/react) against a real server process: what a
 * frontend gets. Requests are counted, so "applied to the cache without a
 * refetch" is checked, not assumed.
 */

let server: RunningServer;
beforeAll(async () => {
  // On the local development secret, as `npm start` runs: tokens come from its development sign-in.
  const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-hooks-"));
  server = await startServer({
    LOCAL_SECRET_FILE: path.join(dir, "secret"),
    RATE_LIMIT_IP: "0",
    RATE_LIMIT_USER: "0",
    LOG_LEVEL: "info",
    PGLITE_DATA_DIR: "memory://",
  });
  await waitReady(server);
}, 90_000);
afterAll(async () => {
  await server?.stop();
  killAllServers();
});
afterEach(() => cleanup());

const tasksId = String(TasksDocument.__meta__?.hash);

/** A REST answer's `data`. */
const dataOf = (body: { data: { id: string } }) => body.data;

/** A token for `userId` from the server's development sign-in (POST /auth/dev-token). */
async function mintToken(userId: string): Promise<string> {
  const response = await fetch(`${server.url}/auth/dev-token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: userId }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

interface Harness {
  userId: string;
  token: string;
  client: TasksClient;
  queryClient: QueryClient;
  /** The documentId (or operation text) of every GraphQL request, in order. */
  sent: string[];
  /** While set, GraphQL requests wait for it before they leave (to look at the cache meanwhile). */
  hold: { until?: Promise<void> };
  wrapper: (props: { children: ReactNode }) => ReactNode;
  rest(method: string, path: string, body?: unknown): Promise<Response>;
}

async function harness(name: string, token?: TokenProvider): Promise<Harness> {
  const userId = `hooks-${name}-${randomUUID().slice(0, 8)}`;
  const jwt = await mintToken(userId);
  const sent: string[] = [];
  const hold: { until?: Promise<void> } = {};
  const client = createTasksClient({
    url: server.url,
    token: token ?? (() => jwt),
    webSocket: WebSocket,
    fetch: async (input, init) => {
      const body = JSON.parse(String(init?.body)) as { documentId?: string; query?: string };
      sent.push(body.documentId ?? body.query ?? "");
      await hold.until;
      return fetch(input, init);
    },
  });
  const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false }, mutations: { retry: false } } });
  const wrapper = ({ children }: { children: ReactNode }) =>
    createElement(QueryClientProvider, { client: queryClient }, createElement(TasksApiProvider, { client }, children));
  const rest = (method: string, path: string, body?: unknown) =>
    fetch(`${server.url}/api/${userId}${path}`, {
      method,
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  return { userId, token: jwt, client, queryClient, sent, hold, wrapper, rest };
}

describe("tasks-api/react against a real server", () => {
  it("lists, creates with due date, priority and labels, and shows the new task without refetching", async () => {
    const h = await harness("create");
    const { result } = renderHook(
      () => ({ list: useTaskList({ pageSize: 10 }), create: useCreateTask(), labels: useLabels() }),
      { wrapper: h.wrapper },
    );
    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));
    expect(result.current.list.tasks).toEqual([]);
    expect(result.current.list.changeCursor).toBe("0");

    await act(() =>
      result.current.create.mutateAsync({
        title: "  Buy stamps ",
        due: { date: "2026-12-24" },
        priority: "HIGH",
        labels: ["errands"],
      }),
    );
    await waitFor(() => expect(result.current.list.tasks).toHaveLength(1));
    expect(result.current.list.tasks[0]).toMatchObject({
      title: "Buy stamps",
      dueDate: "2026-12-24",
      priority: "HIGH",
      labels: [{ name: "errands" }],
    });
    expect(result.current.list.totalCount).toBe(1);
    // One list request: the new task came from the mutation's answer.
    expect(h.sent.filter((id) => id === tasksId)).toHaveLength(1);
    // Operations travel by their documentId (the manifest's), not as text.
    expect(h.sent.every((id) => id.startsWith("sha256:"))).toBe(true);
    await waitFor(() => expect(result.current.labels.data?.map((label) => label.name)).toEqual(["errands"]));
  });

  it("shows a new task at once as pending, swaps in the service's, and takes it away when refused", async () => {
    const h = await harness("optimistic-create");
    const { result } = renderHook(() => ({ list: useTaskList(), create: useCreateTask() }), { wrapper: h.wrapper });
    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));
    let release = () => {};
    h.hold.until = new Promise((resolve) => {
      release = resolve;
    });
    const made = result.current.create.mutateAsync({ title: "Soon", labels: ["x"] });
    await waitFor(() => expect(result.current.list.tasks.map((task) => task.title)).toEqual(["Soon"]));
    expect(isPending(result.current.list.tasks[0] ?? { id: "" })).toBe(true);
    delete h.hold.until;
    release();
    const task = await made;
    await waitFor(() => expect(result.current.list.tasks.map((t) => t.id)).toEqual([task.id]));
    expect(result.current.list.totalCount).toBe(1);

    const refused = await result.current.create.mutateAsync({ title: "y".repeat(201) }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: "BAD_USER_INPUT", details: [{ field: "input.title" }] });
    await waitFor(() => expect(result.current.list.tasks.map((t) => t.id)).toEqual([task.id]));
    expect(result.current.list.totalCount).toBe(1);
  });

  it("updates optimistically, and rolls back with a typed CONFLICT when the version moved on", async () => {
    const h = await harness("conflict");
    const created = await (await h.rest("POST", "/tasks", { title: "Shared" })).json().then(dataOf);
    // Someone else changes it: version 2 now.
    await h.rest("PUT", `/tasks/${created.id}`, { title: "Shared, renamed" });
    const { result } = renderHook(() => ({ list: useTaskList(), complete: useSetTaskCompleted() }), {
      wrapper: h.wrapper,
    });
    await waitFor(() => expect(result.current.list.tasks).toHaveLength(1));
    let release = () => {};
    h.hold.until = new Promise((resolve) => {
      release = resolve;
    });
    const pending = result.current.complete.mutateAsync({ id: created.id, completed: true, expectedVersion: 1 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    // The cache shows the change while the request has not even left.
    await waitFor(() => expect(result.current.list.tasks[0]?.isCompleted).toBe(true));
    delete h.hold.until;
    release();
    const failure = await pending;
    expect(isVersionConflict(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/version/i);
    // Rolled back.
    await waitFor(() => expect(result.current.list.tasks[0]).toMatchObject({ isCompleted: false }));
    expect(result.current.list.tasks[0]?.title).toBe("Shared, renamed");

    // With the current version it goes through.
    await act(() => result.current.complete.mutateAsync({ id: created.id, completed: true, expectedVersion: 2 }));
    await waitFor(() => expect(result.current.list.tasks[0]).toMatchObject({ isCompleted: true, version: 3 }));
  });

  it("follows the change log live: REST creates, updates and deletes reach the cached list without refetching", async () => {
    const h = await harness("live");
    const { result } = renderHook(
      () => {
        const list = useTaskList({ filter: { status: "OPEN" } });
        const live = useLiveTasks({ from: list.changeCursor });
        return { list, live };
      },
      { wrapper: h.wrapper },
    );
    await waitFor(() => expect(result.current.list.isSuccess).toBe(true));
    await waitFor(() => expect(result.current.live.status).toBe("live"), { timeout: 10_000 });

    const made = await (await h.rest("POST", "/tasks", { title: "From REST" })).json().then(dataOf);
    await waitFor(() => expect(result.current.list.tasks.map((task) => task.title)).toEqual(["From REST"]), {
      timeout: 10_000,
    });
    expect(result.current.live.status).toBe("live");

    expect((await h.rest("PUT", `/tasks/${made.id}`, { title: "Renamed over REST" })).status).toBe(200);
    await waitFor(() => expect(result.current.list.tasks[0]?.title).toBe("Renamed over REST"), { timeout: 10_000 });

    // Completing takes it out of the OPEN list; deleting another removes it.
    const other = await (await h.rest("POST", "/tasks", { title: "Second" })).json().then(dataOf);
    await waitFor(() => expect(result.current.list.tasks).toHaveLength(2), { timeout: 10_000 });
    await h.rest("PATCH", `/tasks/${made.id}/complete`);
    await h.rest("DELETE", `/tasks/${other.id}`);
    await waitFor(() => expect(result.current.list.tasks).toEqual([]), { timeout: 10_000 });
    expect(result.current.list.totalCount).toBe(0);
    expect(h.sent.filter((id) => id === tasksId)).toHaveLength(1);
  });

  it("asks the token provider for a new token on UNAUTHENTICATED and retries once", async () => {
    const userId = `hooks-refresh-${randomUUID().slice(0, 8)}`;
    // Not a token this service accepts (as an expired one is not): UNAUTHENTICATED.
    const expired = "eyJhbGciOiJIUzI1NiJ9.e30.invalid";
    const fresh = await mintToken(userId);
    const asked: boolean[] = [];
    const h = await harness("refresh", ({ refresh }) => {
      asked.push(refresh);
      return refresh ? fresh : expired;
    });
    const { result } = renderHook(() => useTaskList(), { wrapper: h.wrapper });
    await waitFor(() => expect(result.current.isSuccess).toBe(true));
    expect(asked).toEqual([false, true]);

    // A provider with nothing better: the error reaches the hook, typed.
    const stuck = await harness("stuck", () => expired);
    const { result: failing } = renderHook(() => useTaskList(), { wrapper: stuck.wrapper });
    await waitFor(() => expect(failing.current.isError).toBe(true));
    expect(failing.current.error).toMatchObject({ code: "UNAUTHENTICATED" });
  });

  it("takes a task completed through a hook out of an open-tasks list, count included", async () => {
    const h = await harness("leave-open");
    const made = await (await h.rest("POST", "/tasks", { title: "Open one" })).json().then(dataOf);
    await h.rest("POST", "/tasks", { title: "Stays open" });
    const { result } = renderHook(
      () => ({ list: useTaskList({ filter: { status: "OPEN" } }), complete: useSetTaskCompleted() }),
      { wrapper: h.wrapper },
    );
    await waitFor(() => expect(result.current.list.tasks).toHaveLength(2));
    await act(() => result.current.complete.mutateAsync({ id: made.id, completed: true }));
    await waitFor(() => expect(result.current.list.tasks.map((task) => task.title)).toEqual(["Stays open"]));
    expect(result.current.list.totalCount).toBe(1);
  });

  it("edits fields and deletes, each reflected in the list at once", async () => {
    const h = await harness("edit");
    await h.rest("POST", "/tasks", { title: "Draft" });
    const { result } = renderHook(() => ({ list: useTaskList(), update: useUpdateTask(), remove: useDeleteTask() }), {
      wrapper: h.wrapper,
    });
    await waitFor(() => expect(result.current.list.tasks).toHaveLength(1));
    const task = result.current.list.tasks[0];
    if (!task) throw new Error("no task");
    await act(() =>
      result.current.update.mutateAsync({
        id: task.id,
        input: { title: "Final", priority: "URGENT", labels: ["a", "b"], expectedVersion: task.version },
      }),
    );
    // The service's answer (labels with their real ids) replaces the optimistic guess.
    await waitFor(() =>
      expect(result.current.list.tasks[0]).toMatchObject({ title: "Final", priority: "URGENT", version: 2 }),
    );
    expect(result.current.list.tasks[0]?.labels.map((label) => label.name)).toEqual(["a", "b"]);
    expect(result.current.list.tasks[0]?.labels.some((label) => label.id.startsWith("pending:"))).toBe(false);
    await act(() => result.current.remove.mutateAsync({ id: task.id }));
    await waitFor(() => expect(result.current.list.tasks).toEqual([]));
    expect((await h.rest("GET", `/tasks/${task.id}`)).status).toBe(404);
  });
});
