/**
 * Applying change events to cached task lists, without refetching them.
 * Pure functions over the query cache's shapes, so that the live hook
 * (react.ts) stays small and this can be read (and tested) on its own.
 */
import type { TaskEventFieldsFragment, TaskFieldsFragment, TaskFilter, TaskOrder, TasksQuery } from "./gql/graphql.js";

/** One page of a list as the cache holds it. */
export type TaskPage = TasksQuery["tasks"];

/** An infinite list in the cache: TanStack Query's `{ pages, pageParams }`. */
export interface TaskPages {
  pages: TaskPage[];
  pageParams: (string | null)[];
}

/** Whether `task` belongs in a list with `filter`: yes, no, or "cannot tell here" (then the list is refetched). */
export function matches(task: TaskFieldsFragment, filter: TaskFilter | undefined): boolean | "unknown" {
  if (!filter) return true;
  // Calendar conditions depend on the time zone and the clock: the service decides.
  if (
    filter.dueAfter ||
    filter.dueBefore ||
    filter.dueOn ||
    (filter.overdue !== undefined && filter.overdue !== null)
  ) {
    return "unknown";
  }
  if (filter.status === "OPEN" && task.isCompleted) return false;
  if (filter.status === "COMPLETED" && !task.isCompleted) return false;
  if (filter.priorities && filter.priorities.length > 0 && !filter.priorities.includes(task.priority)) return false;
  if (filter.hasDueDate !== undefined && filter.hasDueDate !== null) {
    const hasDue = task.dueAt !== null || task.dueDate !== null;
    if (hasDue !== filter.hasDueDate) return false;
  }
  const names = new Set(task.labels.map((label) => label.name.toLowerCase()));
  const { anyOf, allOf } = filter.labels ?? {};
  if (anyOf && anyOf.length > 0 && !anyOf.some((name) => names.has(name.toLowerCase()))) return false;
  if (allOf && allOf.length > 0 && !allOf.every((name) => names.has(name.toLowerCase()))) return false;
  if (filter.search) {
    const needle = filter.search.trim().toLowerCase();
    const haystack = `${task.title}\n${task.description ?? ""}`.toLowerCase();
    if (needle !== "" && !haystack.includes(needle)) return false;
  }
  return true;
}

/** Where a list's order puts a changed task: in place (creation order never changes), or the service must say. */
function orderIsStable(orderBy: TaskOrder | undefined): boolean {
  return (orderBy?.field ?? "CREATED_AT") === "CREATED_AT";
}

export interface ListKey {
  filter?: TaskFilter | undefined;
  orderBy?: TaskOrder | undefined;
}

/**
 * A list after one event: the new pages, and whether the list must be
 * refetched because this cannot be decided here (a calendar filter, an
 * order by something that changed). Events older than what the list shows
 * (by version) change nothing.
 */
export function applyEvent(
  data: TaskPages,
  key: ListKey,
  event: TaskEventFieldsFragment,
): { data: TaskPages; refetch: boolean } {
  const located = locate(data, event.taskId);
  const current = located ? data.pages[located.page]?.edges[located.index]?.node : undefined;
  if (current && current.version >= event.version && event.kind !== "DELETED") return { data, refetch: false };

  // Pages not loaded yet may hold the task: then only the service knows what the count is now.
  const partial = data.pages.at(-1)?.pageInfo.hasNextPage === true;
  if (event.kind === "DELETED" || event.task === null) {
    return located ? { data: without(data, located), refetch: false } : { data, refetch: partial };
  }
  const task = event.task;
  const belongs = matches(task, key.filter);
  if (belongs === "unknown") {
    // Show the new values where the task already is; the service decides membership.
    return { data: located ? replaced(data, located, task) : data, refetch: true };
  }
  if (!belongs) return located ? { data: without(data, located), refetch: false } : { data, refetch: partial };
  if (located) return { data: replaced(data, located, task), refetch: !orderIsStable(key.orderBy) };
  // A task the list does not show yet: newest first puts a new one on top; elsewhere the service places it.
  const newestFirst = orderIsStable(key.orderBy) && (key.orderBy?.direction ?? "DESC") === "DESC";
  if (event.kind === "CREATED" && newestFirst) return { data: prepended(data, task), refetch: false };
  return { data, refetch: true };
}

function locate(data: TaskPages, id: string): { page: number; index: number } | undefined {
  for (const [page, { edges }] of data.pages.entries()) {
    const index = edges.findIndex((edge) => edge.node.id === id);
    if (index >= 0) return { page, index };
  }
  return undefined;
}

function mapPages(data: TaskPages, change: (page: TaskPage, index: number) => TaskPage): TaskPages {
  return { ...data, pages: data.pages.map(change) };
}

function replaced(data: TaskPages, at: { page: number; index: number }, task: TaskFieldsFragment): TaskPages {
  return mapPages(data, (page, index) =>
    index === at.page
      ? { ...page, edges: page.edges.map((edge, i) => (i === at.index ? { ...edge, node: task } : edge)) }
      : page,
  );
}

function without(data: TaskPages, at: { page: number; index: number }): TaskPages {
  return mapPages(data, (page, index) => ({
    ...page,
    totalCount: Math.max(0, page.totalCount - 1),
    edges: index === at.page ? page.edges.filter((_, i) => i !== at.index) : page.edges,
  }));
}

function prepended(data: TaskPages, task: TaskFieldsFragment): TaskPages {
  return mapPages(data, (page, index) => ({
    ...page,
    totalCount: page.totalCount + 1,
    // The edge's cursor is only read for the last edge of a page; a new first edge is never that.
    edges: index === 0 ? [{ cursor: "", node: task }, ...page.edges] : page.edges,
  }));
}

/** A list with one task changed by hand (an optimistic update), or unchanged if it does not show that task. */
export function patchTask(
  data: TaskPages,
  id: string,
  patch: (task: TaskFieldsFragment) => TaskFieldsFragment,
): TaskPages {
  const at = locate(data, id);
  const node = at ? data.pages[at.page]?.edges[at.index]?.node : undefined;
  return at && node ? replaced(data, at, patch(node)) : data;
}

/** A list without one task (an optimistic delete). */
export function removeTask(data: TaskPages, id: string): TaskPages {
  const at = locate(data, id);
  return at ? without(data, at) : data;
}

/**
 * Rolls one task back to how `before` showed it (a refused optimistic
 * write), leaving everything else as it is now: events that arrived
 * meanwhile stay applied, and a newer version of the task itself wins.
 */
export function restoreTask(now: TaskPages, before: TaskPages, id: string): TaskPages {
  const was = locate(before, id);
  const old = was ? before.pages[was.page]?.edges[was.index]?.node : undefined;
  const is = locate(now, id);
  if (!was || !old) return now;
  if (is) {
    const current = now.pages[is.page]?.edges[is.index]?.node;
    return current && current.version <= old.version ? replaced(now, is, old) : now;
  }
  return mapPages(now, (page, index) => {
    if (index !== was.page) return { ...page, totalCount: page.totalCount + 1 };
    const edges = [...page.edges];
    edges.splice(Math.min(was.index, edges.length), 0, { cursor: "", node: old });
    return { ...page, totalCount: page.totalCount + 1, edges };
  });
}
