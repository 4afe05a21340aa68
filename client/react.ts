/**
 * tasks-api/react: React hooks for the tasks-api service on TanStack Query.
 *
 *   <QueryClientProvider client={queryClient}>
 *     <TasksApiProvider client={createTasksClient({ token })}>
 *       <App />   // useTaskList(), useCreateTask(), useLiveTasks(), ...
 *
 * Every hook runs one of the canonical operations (operations.ts). Writes
 * are optimistic: the cache changes at once and rolls back if the service
 * refuses (a version CONFLICT arrives as a VersionConflictError). The live
 * hook follows the change log from the lists' cursor and applies each event
 * to the cache, so other tabs', devices' and REST callers' changes show up
 * without refetching.
 */
import {
  type InfiniteData,
  type QueryClient,
  type QueryKey,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { createContext, createElement, type ReactNode, useContext, useEffect, useRef, useState } from "react";
import { applyEvent, type ListKey, patchTask, removeTask, restoreTask, type TaskPages } from "./cache.js";
import {
  CreateLabelDocument,
  type CreateLabelInput,
  CreateTaskDocument,
  type CreateTaskInput,
  DeleteLabelDocument,
  DeleteTaskDocument,
  LabelsDocument,
  type LabelsQuery,
  SetTaskCompletedDocument,
  TaskDocument,
  type TaskEventFieldsFragment,
  TaskEventsDocument,
  type TaskFieldsFragment,
  type TaskFilter,
  type TaskOrder,
  type TaskQuery,
  TasksDocument,
  type TasksQuery,
  UpdateLabelDocument,
  type UpdateLabelInput,
  UpdateTaskDocument,
  type UpdateTaskInput,
  ViewerDocument,
  type ViewerQuery,
} from "./gql/graphql.js";
import type { TasksApiError, TasksClient } from "./index.js";

export { applyEvent, matches } from "./cache.js";

const ClientContext = createContext<TasksClient | null>(null);

/** Makes `client` available to the hooks below it (inside the app's QueryClientProvider). */
export function TasksApiProvider({ client, children }: { client: TasksClient; children?: ReactNode }) {
  return createElement(ClientContext.Provider, { value: client }, children);
}

export function useTasksClient(): TasksClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error("useTasksClient: wrap the app in <TasksApiProvider client={...}>");
  return client;
}

/** The query keys, for apps that read or invalidate the cache themselves. */
export const taskKeys = {
  all: ["tasks-api"] as const,
  lists: () => [...taskKeys.all, "list"] as const,
  list: (key: ListKey) => [...taskKeys.lists(), { filter: key.filter ?? null, orderBy: key.orderBy ?? null }] as const,
  task: (id: string) => [...taskKeys.all, "task", id] as const,
  labels: () => [...taskKeys.all, "labels"] as const,
  viewer: () => [...taskKeys.all, "viewer"] as const,
};

export function useViewer() {
  const client = useTasksClient();
  return useQuery<ViewerQuery, TasksApiError>({
    queryKey: taskKeys.viewer(),
    queryFn: () => client.execute(ViewerDocument, {}),
  });
}

export interface TaskListOptions {
  filter?: TaskFilter;
  orderBy?: TaskOrder;
  /** Tasks per page, 1 to 100 (20 unless given). */
  pageSize?: number;
}

/**
 * A list of the caller's tasks, a page at a time (`fetchNextPage()` for
 * more). `tasks` is every loaded page's tasks in order; `changeCursor` the
 * cursor to follow live updates from (useLiveTasks does).
 */
export function useTaskList({ filter, orderBy, pageSize = 20 }: TaskListOptions = {}) {
  const client = useTasksClient();
  const query = useInfiniteQuery<
    TasksQuery["tasks"],
    TasksApiError,
    InfiniteData<TasksQuery["tasks"], string | null>,
    ReturnType<typeof taskKeys.list>,
    string | null
  >({
    queryKey: taskKeys.list({ filter, orderBy }),
    queryFn: async ({ pageParam, signal }) =>
      (
        await client.execute(
          TasksDocument,
          { first: pageSize, after: pageParam, filter: filter ?? null, orderBy: orderBy ?? null },
          { signal },
        )
      ).tasks,
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (last.pageInfo.hasNextPage ? last.pageInfo.endCursor : undefined),
  });
  const pages = query.data?.pages ?? [];
  return {
    ...query,
    tasks: pages.flatMap((page) => page.edges.map((edge) => edge.node)),
    totalCount: pages[0]?.totalCount,
    changeCursor: pages[0]?.changeCursor,
  };
}

export function useTask(id: string | undefined) {
  const client = useTasksClient();
  return useQuery<TaskQuery["task"], TasksApiError>({
    queryKey: taskKeys.task(id ?? ""),
    queryFn: async ({ signal }) => (await client.execute(TaskDocument, { id: id ?? "" }, { signal })).task,
    enabled: id !== undefined,
  });
}

export function useLabels() {
  const client = useTasksClient();
  return useQuery<LabelsQuery["labels"], TasksApiError>({
    queryKey: taskKeys.labels(),
    queryFn: async ({ signal }) => (await client.execute(LabelsDocument, {}, { signal })).labels,
  });
}

type ListSnapshot = [QueryKey, TaskPages | undefined][];
interface Snapshot {
  lists: ListSnapshot;
  task?: [QueryKey, TaskQuery["task"] | undefined];
}

/** Every cached list, changed by `change`; returns what they were, to roll back to. */
async function changeLists(queryClient: QueryClient, change: (data: TaskPages) => TaskPages): Promise<ListSnapshot> {
  await queryClient.cancelQueries({ queryKey: taskKeys.lists() });
  const before = queryClient.getQueriesData<TaskPages>({ queryKey: taskKeys.lists() });
  for (const [key, data] of before) if (data) queryClient.setQueryData<TaskPages>(key, change(data));
  return before;
}

/** Undoes a refused optimistic write to task `id`, keeping whatever else changed meanwhile (see restoreTask). */
function restore(queryClient: QueryClient, id: string, snapshot: Snapshot | undefined) {
  for (const [key, before] of snapshot?.lists ?? []) {
    const now = queryClient.getQueryData<TaskPages>(key);
    if (now && before) queryClient.setQueryData<TaskPages>(key, restoreTask(now, before, id));
  }
  if (snapshot?.task) {
    const [key, before] = snapshot.task;
    const now = queryClient.getQueryData<TaskQuery["task"]>(key);
    if (before && (!now || now.version <= before.version)) queryClient.setQueryData(key, before);
  }
}

/**
 * The service's answer for a task, applied as the change it is: lists it
 * no longer belongs in drop it, and an answer older than what a live
 * event already showed changes nothing.
 */
function storeTask(queryClient: QueryClient, task: TaskFieldsFragment) {
  applyToCache(queryClient, {
    cursor: "",
    kind: "UPDATED",
    taskId: task.id,
    version: task.version,
    occurredAt: task.updatedAt,
    task,
  });
}

/** An optimistic change to one task: applied at once, rolled back on error, replaced by the answer on success. */
function useTaskWrite<TVariables extends { id: string }>(
  run: (client: TasksClient, variables: TVariables) => Promise<TaskFieldsFragment>,
  optimistic: (task: TaskFieldsFragment, variables: TVariables) => TaskFieldsFragment,
) {
  const client = useTasksClient();
  const queryClient = useQueryClient();
  return useMutation<TaskFieldsFragment, TasksApiError, TVariables, Snapshot>({
    mutationFn: (variables) => run(client, variables),
    onMutate: async (variables) => {
      const lists = await changeLists(queryClient, (data) =>
        patchTask(data, variables.id, (task) => optimistic(task, variables)),
      );
      const key = taskKeys.task(variables.id);
      const task = queryClient.getQueryData<TaskQuery["task"]>(key);
      if (task) queryClient.setQueryData(key, optimistic(task, variables));
      return { lists, task: [key, task] };
    },
    onError: (error, variables, snapshot) => {
      restore(queryClient, variables.id, snapshot);
      // The task moved on: show its current version.
      if (error.code === "CONFLICT") refetchTask(queryClient, variables.id);
    },
    onSuccess: (task) => storeTask(queryClient, task),
  });
}

/** Changes some fields of a task; pass `input.expectedVersion` to refuse (CONFLICT) if it changed meanwhile. */
export function useUpdateTask() {
  return useTaskWrite<{ id: string; input: UpdateTaskInput }>(
    async (client, variables) => (await client.execute(UpdateTaskDocument, variables)).updateTask,
    (task, { input }) => ({
      ...task,
      ...(typeof input.title === "string" ? { title: input.title.trim() } : {}),
      ...(input.description !== undefined ? { description: input.description } : {}),
      ...(input.priority ? { priority: input.priority } : {}),
      ...(typeof input.isCompleted === "boolean" ? { isCompleted: input.isCompleted } : {}),
      ...(input.due === null ? { dueAt: null, dueDate: null } : {}),
      ...(input.due ? { dueAt: input.due.at ?? null, dueDate: input.due.date ?? null } : {}),
      ...(input.labels
        ? { labels: input.labels.map((name) => task.labels.find((label) => label.name === name) ?? pending(name)) }
        : {}),
    }),
  );
}

/** Completes or reopens a task. */
export function useSetTaskCompleted() {
  return useTaskWrite<{ id: string; completed: boolean; expectedVersion?: number }>(
    async (client, variables) => (await client.execute(SetTaskCompletedDocument, variables)).setTaskCompleted,
    (task, { completed }) => ({
      ...task,
      isCompleted: completed,
      completedAt: completed ? (task.completedAt ?? new Date().toISOString()) : null,
    }),
  );
}

/** After a CONFLICT: the task as it is now, in its own query and the lists. */
function refetchTask(queryClient: QueryClient, id: string) {
  void queryClient.invalidateQueries({ queryKey: taskKeys.task(id) });
  void queryClient.invalidateQueries({ queryKey: taskKeys.lists() }, { cancelRefetch: false });
}

/** Whether a task (or label) is an optimistic placeholder the service has not confirmed yet: not to be acted on. */
export function isPending(item: { id: string }): boolean {
  return item.id.startsWith("pending:");
}

/** A label the service has not made yet, as an optimistic update shows it. */
function pending(name: string): TaskFieldsFragment["labels"][number] {
  return { id: `pending:${name}`, name, color: null };
}

/**
 * Adds a task. It shows at once, as a pending task (id "pending:…"), at the
 * top of the newest-first lists it belongs in; the service's answer takes
 * its place (other lists are refetched), and an error takes it away again.
 * An Idempotency-Key is sent, so a retry of the same call never adds it twice.
 */
export function useCreateTask() {
  const client = useTasksClient();
  const queryClient = useQueryClient();
  return useMutation<TaskFieldsFragment, TasksApiError, CreateTaskInput, { pendingId: string }>({
    mutationFn: async (input) =>
      (await client.execute(CreateTaskDocument, { input }, { idempotencyKey: randomKey() })).createTask,
    onMutate: async (input) => {
      const pendingId = `pending:${randomKey()}`;
      const now = new Date().toISOString();
      const task: TaskFieldsFragment = {
        id: pendingId,
        title: input.title.trim(),
        description: input.description ?? null,
        isCompleted: false,
        completedAt: null,
        createdAt: now,
        updatedAt: now,
        version: 0,
        dueDate: input.due?.date ?? null,
        dueAt: input.due?.at ?? null,
        priority: input.priority ?? "NONE",
        labels: (input.labels ?? []).map(pending),
      };
      await queryClient.cancelQueries({ queryKey: taskKeys.lists() });
      applyToCache(queryClient, createdEvent(task), { guess: true });
      return { pendingId };
    },
    onError: (_error, _input, snapshot) => dropPending(queryClient, snapshot?.pendingId),
    onSuccess: (task, _input, snapshot) => {
      dropPending(queryClient, snapshot?.pendingId);
      applyToCache(queryClient, createdEvent(task));
      queryClient.setQueryData(taskKeys.task(task.id), task);
      if (task.labels.length > 0) void queryClient.invalidateQueries({ queryKey: taskKeys.labels() });
    },
  });
}

function dropPending(queryClient: QueryClient, pendingId: string | undefined) {
  if (pendingId === undefined) return;
  for (const [key, data] of queryClient.getQueriesData<TaskPages>({ queryKey: taskKeys.lists() })) {
    if (data) queryClient.setQueryData<TaskPages>(key, removeTask(data, pendingId));
  }
}

function createdEvent(task: TaskFieldsFragment): TaskEventFieldsFragment {
  return { cursor: "", kind: "CREATED", taskId: task.id, version: task.version, occurredAt: task.createdAt, task };
}

/** Deletes a task; it leaves the lists at once and comes back if the service refuses. */
export function useDeleteTask() {
  const client = useTasksClient();
  const queryClient = useQueryClient();
  return useMutation<string, TasksApiError, { id: string; expectedVersion?: number }, Snapshot>({
    mutationFn: async (variables) => (await client.execute(DeleteTaskDocument, variables)).deleteTask.deletedTaskId,
    onMutate: async ({ id }) => ({ lists: await changeLists(queryClient, (data) => removeTask(data, id)) }),
    onError: (error, variables, snapshot) => {
      restore(queryClient, variables.id, snapshot);
      if (error.code === "CONFLICT") refetchTask(queryClient, variables.id);
    },
    onSuccess: (id) => {
      queryClient.removeQueries({ queryKey: taskKeys.task(id) });
      void queryClient.invalidateQueries({ queryKey: taskKeys.labels() });
    },
  });
}

type Label = LabelsQuery["labels"][number];

function useLabelWrite<TVariables, TResult>(run: (client: TasksClient, variables: TVariables) => Promise<TResult>) {
  const client = useTasksClient();
  const queryClient = useQueryClient();
  return useMutation<TResult, TasksApiError, TVariables>({
    mutationFn: (variables) => run(client, variables),
    // A rename or delete changes tasks too; their events reach the lists through the live hook.
    onSuccess: () => queryClient.invalidateQueries({ queryKey: taskKeys.labels() }),
  });
}

export function useCreateLabel() {
  return useLabelWrite<CreateLabelInput, Label>(
    async (client, input) => (await client.execute(CreateLabelDocument, { input })).createLabel,
  );
}

export function useUpdateLabel() {
  return useLabelWrite<{ id: string; input: UpdateLabelInput }, Label>(
    async (client, variables) => (await client.execute(UpdateLabelDocument, variables)).updateLabel,
  );
}

export function useDeleteLabel() {
  return useLabelWrite<{ id: string }, string>(
    async (client, variables) => (await client.execute(DeleteLabelDocument, variables)).deleteLabel.deletedLabelId,
  );
}

/**
 * One change event, applied to every cached list and task; lists it cannot
 * decide are refetched (once). A `guess` (an optimistic create) goes only
 * where it certainly belongs, and refetches nothing.
 */
export function applyToCache(
  queryClient: QueryClient,
  event: TaskEventFieldsFragment,
  { guess = false }: { guess?: boolean } = {},
) {
  for (const query of queryClient.getQueryCache().findAll({ queryKey: taskKeys.lists() })) {
    const data = query.state.data as InfiniteData<TasksQuery["tasks"], string | null> | undefined;
    if (!data) continue;
    const key = query.queryKey[2] as { filter: TaskFilter | null; orderBy: TaskOrder | null } | undefined;
    const { data: next, refetch } = applyEvent(data, listKeyOf(key), event);
    if (next !== data) queryClient.setQueryData(query.queryKey, next);
    if (guess) continue;
    // A read in flight may predate this change and would write its older pages back over it: read afresh.
    const inFlight = query.state.fetchStatus === "fetching";
    if (refetch || inFlight) {
      void queryClient.invalidateQueries({ queryKey: query.queryKey, exact: true }, { cancelRefetch: inFlight });
    }
  }
  const taskKey = taskKeys.task(event.taskId);
  if (guess) return;
  if (event.kind === "DELETED") {
    queryClient.setQueryData(taskKey, null);
  } else if (event.task) {
    const cached = queryClient.getQueryData<TaskQuery["task"]>(taskKey);
    if (!cached || cached.version < event.version) queryClient.setQueryData(taskKey, event.task);
  }
}

function listKeyOf(key: { filter: TaskFilter | null; orderBy: TaskOrder | null } | undefined): ListKey {
  return { filter: key?.filter ?? undefined, orderBy: key?.orderBy ?? undefined };
}

export type LiveStatus = "connecting" | "live" | "reconnecting" | "off";

/** Stream refusals that a quick retry would only repeat. */
const refusals = new Set(["RATE_LIMITED", "BAD_USER_INPUT", "DOCUMENT_NOT_TRUSTED", "FORBIDDEN"]);

/**
 * Keeps the cached lists current: subscribes to `taskEvents` after `from`
 * (a list's `changeCursor`) and applies each event to the cache. After a
 * lost connection or an expired token it subscribes again from the last
 * cursor it saw, so nothing is missed or applied twice; a cursor older than
 * the log keeps (CURSOR_EXPIRED) refetches the lists and goes on from now.
 */
export function useLiveTasks({ from, enabled = true }: { from: string | undefined; enabled?: boolean }): {
  status: LiveStatus;
  lastCursor: string | undefined;
} {
  const client = useTasksClient();
  const queryClient = useQueryClient();
  const [status, setStatus] = useState<LiveStatus>("off");
  const [lastCursor, setLastCursor] = useState<string | undefined>(undefined);
  const cursor = useRef<string | undefined>(undefined);
  /** A list cursor the change log no longer keeps (CURSOR_EXPIRED): wait for the lists' fresh one. */
  const expiredFrom = useRef<string | undefined>(undefined);
  const latestFrom = useRef(from);
  latestFrom.current = from;
  // The first cursor known starts the stream; later lists' cursors are behind what it has seen.
  if (cursor.current === undefined && from !== undefined && from !== expiredFrom.current) cursor.current = from;
  const ready = enabled && cursor.current !== undefined;

  useEffect(() => {
    if (!ready) return;
    let stop: (() => void) | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let closed = false;
    let failures = 0;
    const start = () => {
      if (closed) return;
      setStatus(failures === 0 ? "connecting" : "reconnecting");
      stop = client.subscribe(
        TaskEventsDocument,
        { after: cursor.current ?? null },
        {
          // Connected and asked: anything committed from here on arrives.
          started: () => setStatus("live"),
          next: ({ taskEvents }) => {
            failures = 0;
            setStatus("live");
            cursor.current = taskEvents.cursor;
            setLastCursor(taskEvents.cursor);
            const relabelled = taskEvents.kind !== "UPDATED" || labelsChanged(queryClient, taskEvents);
            applyToCache(queryClient, taskEvents);
            if (relabelled) {
              void queryClient.invalidateQueries({ queryKey: taskKeys.labels() }, { cancelRefetch: false });
            }
          },
          error: (error) => {
            if (error.code === "CURSOR_EXPIRED") {
              // Start again from the lists as they are now: refetch them, and follow from their new cursor.
              expiredFrom.current = latestFrom.current;
              cursor.current = undefined;
              stop = undefined;
              setStatus("connecting");
              void queryClient.invalidateQueries({ queryKey: taskKeys.lists() }, { cancelRefetch: false });
              return;
            }
            // An expired token: at once (the socket reconnects with a new one). Refusals that
            // will not go away by themselves (too many streams): slowly. Lost connections: backing off.
            again(error.code === "UNAUTHENTICATED" ? 0 : refusals.has(error.code) ? 30_000 : undefined);
          },
          complete: () => again(),
        },
      );
    };
    const again = (delay?: number) => {
      stop = undefined;
      if (closed) return;
      failures += 1;
      setStatus("reconnecting");
      retry = setTimeout(start, delay ?? Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
    };
    start();
    return () => {
      closed = true;
      clearTimeout(retry);
      stop?.();
      setStatus("off");
    };
  }, [client, queryClient, ready]);

  return { status, lastCursor };
}

/** Whether an update changes a task's labels from what the cache shows (label counts change then). */
function labelsChanged(queryClient: QueryClient, event: TaskEventFieldsFragment): boolean {
  const names = (labels: readonly { name: string }[]) =>
    labels
      .map((label) => label.name)
      .sort()
      .join("\n");
  const cached = cachedTask(queryClient, event.taskId);
  if (!cached || !event.task) return true;
  return names(cached.labels) !== names(event.task.labels);
}

/** A task as the cache shows it (its own query, or any list), if it does. */
function cachedTask(queryClient: QueryClient, id: string): TaskFieldsFragment | undefined {
  const own = queryClient.getQueryData<TaskQuery["task"]>(taskKeys.task(id));
  if (own) return own;
  for (const [, data] of queryClient.getQueriesData<TaskPages>({ queryKey: taskKeys.lists() })) {
    for (const page of data?.pages ?? []) {
      const edge = page.edges.find((candidate) => candidate.node.id === id);
      if (edge) return edge.node;
    }
  }
  return undefined;
}

function randomKey(): string {
  return globalThis.crypto.randomUUID();
}
