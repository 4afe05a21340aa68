import { createHash } from "node:crypto";
import { addDays, dayOf, startOfDay } from "../calendar.js";
import { BadUserInputError, ConflictError, IdempotencyKeyReusedError, NotFoundError } from "../errors.js";
import { type Label, Prisma, type PrismaClient, type Task, type User } from "../generated/prisma/client.js";
import { isStorableText } from "../text.js";
import { labelsJson, recordChanges, taskColumns, withChange } from "./changes.js";
import { addLabelsTo, labelIdsFor, labelKey, removeLabelsFrom, setTaskLabels } from "./labels.js";

/**
 * Every read and write of tasks. Each one takes the owner's id and puts it in
 * the SQL itself, so a task of another user is indistinguishable from a
 * missing one: there is no path that loads a task by id alone.
 */

/**
 * The vocabulary of a list, defined here once: the GraphQL enums map their
 * values onto these (src/schema/task.ts), and the resolver's argument types
 * are inferred from those enums, so a mismatch fails the typecheck.
 */
export type TaskStatus = "ALL" | "OPEN" | "COMPLETED";
/**
 * The columns a list can be ordered by. created_at, due_at and priority have
 * (user_id, column, id) indexes; updated_at and title are sorted per request
 * (npm run bench:indexes measures both).
 */
export type TaskOrderField = Extract<
  Prisma.TaskScalarFieldEnum,
  "createdAt" | "updatedAt" | "title" | "dueAt" | "priority"
>;
type SortDirection = Prisma.SortOrder;

/** Priorities as stored, least to most urgent. */
export const taskPriorities = { NONE: 0, LOW: 1, MEDIUM: 2, HIGH: 3, URGENT: 4 } as const;
export type TaskPriorityName = keyof typeof taskPriorities;
export type TaskPriority = (typeof taskPriorities)[TaskPriorityName];

/** When a task is due: an instant, or a calendar day (midnight UTC of it, `allDay`). */
export interface Due {
  at: Date;
  allDay: boolean;
}

/**
 * Which tasks by due date. Calendar days are read in `timeZone`: an all-day
 * task is due throughout its day there, a timed task at its instant.
 */
export interface DueFilter {
  timeZone: string;
  /** Due on this calendar day (midnight UTC of it). */
  on?: Date | null | undefined;
  /** Due at or after this instant; an all-day task whose day has not ended by then counts. */
  after?: Date | null | undefined;
  /** Due before this instant; an all-day task whose day has begun by then counts. */
  before?: Date | null | undefined;
  /** Open and past due: a timed task after its instant, an all-day task once its day is over. */
  overdue?: boolean | null | undefined;
  /** With (true) or without (false) a due date. */
  hasDue?: boolean | null | undefined;
}

/** What the GraphQL layer asks Prisma to load with each task (select/include for the requested fields). */
export type TaskQuery = { select?: Prisma.TaskSelect; include?: Prisma.TaskInclude };

export interface ListTasksOptions {
  userId: string;
  status: TaskStatus;
  search?: string | null | undefined;
  due?: DueFilter | undefined;
  /** Any of these priorities. */
  priorities?: readonly TaskPriority[] | null | undefined;
  /** Label names, ignoring case: carrying any of `anyOf`, and every one of `allOf`. */
  labels?: { anyOf?: readonly string[] | null | undefined; allOf?: readonly string[] | null | undefined } | undefined;
  /** "Now" for overdue; the clock unless given. */
  now?: Date | undefined;
  orderBy: { field: TaskOrderField; direction: SortDirection };
  first?: number | null | undefined;
  after?: string | null | undefined;
  last?: number | null | undefined;
  before?: string | null | undefined;
  defaultPageSize: number;
  maxPageSize: number;
}

export interface TaskPage<T> {
  tasks: T[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  cursorOf(task: T): string;
  /** Counts every task that matches the filter; a separate query, run only if called. */
  totalCount(): Promise<number>;
  /**
   * When counting needs a query and the filter is the status alone: that
   * status, so that the count can be read with other things in one statement
   * (headAndCount). Otherwise undefined.
   */
  countsByStatus: TaskStatus | undefined;
  /**
   * The user's change head in the page's own snapshot, when it was asked for
   * (`oneStatement.head`) and the list is one that is read in a single
   * statement (see pageInOneStatement). Otherwise undefined.
   */
  head?: bigint | undefined;
}

/** What the hot list's one statement reads besides the page (see pageInOneStatement). */
export interface OneStatement {
  /** The user's change head. */
  head: boolean;
  /** How many tasks match. */
  count: boolean;
  /** Each task's labels: the rows then carry `labels`, as StoredTask does. */
  labels: boolean;
}

/**
 * Keyset pagination: a cursor holds the sort value and id of a task, and the
 * next page is the tasks strictly beyond it in (sort value, id) order. Unlike
 * OFFSET, or Prisma's `cursor` (which looks the cursor row up again and
 * filters with an OR the index cannot bound), this reads one page of the
 * (user_id, created_at, id) index however deep the page is, and it never
 * skips or repeats a task when others are added or removed meanwhile.
 */
export async function listTasks<T extends Pick<Task, "id" | TaskOrderField>>(
  prisma: Db,
  options: ListTasksOptions,
  query: TaskQuery = {},
  oneStatement: OneStatement | undefined = undefined,
): Promise<TaskPage<T>> {
  const { first, last, after, before, orderBy } = options;
  if (first != null && last != null) {
    throw new BadUserInputError([{ field: "last", message: "Use either first (with after) or last (with before)." }]);
  }
  const backward = last != null;
  const size = backward ? last : (first ?? options.defaultPageSize);
  const sizeField = backward ? "last" : "first";
  if (!Number.isInteger(size) || size < 0 || size > options.maxPageSize) {
    throw new BadUserInputError([{ field: sizeField, message: `Must be between 0 and ${options.maxPageSize}.` }]);
  }

  const labels = await labelIdsOf(prisma, options.userId, options.labels);
  const filter = matching(options, labels);
  const afterKey = after == null ? undefined : decodeCursor(after, orderBy.field, "after");
  const beforeKey = before == null ? undefined : decodeCursor(before, orderBy.field, "before");

  // Reading backward: walk the order in reverse, then put the page right.
  const direction: SortDirection = backward === (orderBy.direction === "asc") ? "desc" : "asc";
  // The hot list, when the caller can take its rows as they are (no relations loaded with them).
  if (oneStatement && orderBy.field === "createdAt" && filtersByStatusAlone(filter)) {
    const [start, end] = backward ? [beforeKey, afterKey] : [afterKey, beforeKey];
    const page = await pageInOneStatement(prisma, filter, { size, direction, start, end, ...oneStatement });
    if (backward) page.tasks.reverse();
    return {
      tasks: page.tasks as unknown as T[],
      hasNextPage: backward ? beforeKey !== undefined : page.more,
      hasPreviousPage: backward ? page.more : afterKey !== undefined,
      cursorOf: (task) => encodeCursor(orderBy.field, task),
      totalCount: () => (page.count === undefined ? prisma.task.count({ where: filter }) : Promise.resolve(page.count)),
      countsByStatus: undefined,
      head: page.head,
    };
  }
  const rows: T[] = [];
  for (const range of rangesOf(segmentsOf(orderBy.field), orderBy.direction, afterKey, beforeKey, backward)) {
    const take = size + 1 - rows.length;
    if (take <= 0) break;
    rows.push(
      ...((await prisma.task.findMany({
        ...withKeyFields(query, orderBy.field),
        where: { AND: [filter, ...range.where] },
        orderBy: [...range.orderBy.map((column) => ({ [column]: direction })), { id: direction }],
        take,
      })) as unknown as T[]),
    );
  }
  const more = rows.length > size;
  const tasks = rows.slice(0, size);
  if (backward) tasks.reverse();

  // A first page with nothing beyond it holds every match: no count needed
  // (most users' lists fit in one page).
  const complete = afterKey === undefined && beforeKey === undefined && !more;
  return {
    tasks,
    hasNextPage: backward ? beforeKey !== undefined : more,
    hasPreviousPage: backward ? more : afterKey !== undefined,
    cursorOf: (task) => encodeCursor(orderBy.field, task),
    totalCount: () => (complete ? Promise.resolve(tasks.length) : prisma.task.count({ where: filter })),
    countsByStatus: !complete && filtersByStatusAlone(filter) ? options.status : undefined,
  };
}

/** Whether the list's filter (as `matching` built it) is the user and the status, nothing more. */
function filtersByStatusAlone(filter: Prisma.TaskWhereInput): boolean {
  return Object.keys(filter).every((key) => key === "userId" || key === "isCompleted");
}

/**
 * The hot list (a user's tasks in creation order, by status at most) with,
 * as asked, the user's change head and the count of that status, in one
 * statement: all of one snapshot by construction, in one round trip instead
 * of up to three (the head before the page, the page, the head and count
 * after it). The page is the same index range listTasks reads through
 * Prisma: the rows strictly beyond the cursors in (created_at, id) order,
 * with a redundant bound on created_at so that the scan starts at the cursor.
 */
async function pageInOneStatement(
  db: Db,
  filter: Prisma.TaskWhereInput,
  page: {
    size: number;
    /** The order the page is read in (reversed from the list's when reading backward). */
    direction: SortDirection;
    /** The cursor the walk starts beyond (`after`; `before` reading backward), and the one it stops at. */
    start: CursorKey | undefined;
    end: CursorKey | undefined;
  } & OneStatement,
): Promise<{ tasks: Task[]; more: boolean; head: bigint | undefined; count: number | undefined }> {
  const userId = filter.userId as string;
  const status =
    typeof filter.isCompleted === "boolean" ? Prisma.sql`AND is_completed = ${filter.isCompleted}` : Prisma.empty;
  // Rows ahead of the walk's start, and behind its end, in the walk's order.
  const bound = (key: CursorKey | undefined, ahead: boolean) => {
    if (key === undefined) return Prisma.empty;
    const value = key.value as Date;
    return ahead === (page.direction === "desc")
      ? Prisma.sql`AND created_at <= ${value} AND (created_at, id) < (${value}::timestamptz, ${key.id}::uuid)`
      : Prisma.sql`AND created_at >= ${value} AND (created_at, id) > (${value}::timestamptz, ${key.id}::uuid)`;
  };
  const order = page.direction === "desc" ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  const head = page.head ? Prisma.sql`(SELECT change_seq FROM users WHERE id = ${userId})` : Prisma.sql`NULL::bigint`;
  const count = page.count
    ? Prisma.sql`(SELECT count(*)::int FROM tasks WHERE user_id = ${userId} ${status})`
    : Prisma.sql`NULL::int`;
  const where = Prisma.sql`user_id = ${userId} ${status} ${bound(page.start, true)} ${bound(page.end, false)}`;
  const columns = Prisma.sql`${taskColumns}, ${labelsColumn(page.labels)}`;
  const limit = Prisma.sql`ORDER BY created_at ${order}, id ${order} LIMIT ${page.size + 1}`;
  let rows = await db.$queryRaw<PageRow[]>`
    SELECT ${head} AS head, ${count} AS count, ${columns} FROM tasks WHERE ${where} ${limit}`;
  if (rows.length === 0 && (page.head || page.count)) {
    // An empty page has no row to carry the head and count: read again as
    // one row joined to the page, which is still one snapshot. Only then:
    // the join costs PostgreSQL half as much again as the page (pgbench, a
    // 1000-task user's first 50).
    rows = await db.$queryRaw<PageRow[]>`
      SELECT h.head, h.count, p.* FROM (SELECT ${head} AS head, ${count} AS count) h
      LEFT JOIN LATERAL (SELECT ${columns} FROM tasks WHERE ${where} ${limit}) p ON true
      ORDER BY p."createdAt" ${order}, p.id::uuid ${order}`;
  }
  const [first] = rows;
  const tasks = rows.flatMap(({ head: _head, count: _count, labels, ...task }) =>
    // The joined form's row for an empty page has no task.
    task.id === null ? [] : [page.labels ? { ...task, labels: reviveLabels(labels) } : task],
  );
  return {
    tasks: tasks.slice(0, page.size),
    more: tasks.length > page.size,
    // A user not yet written to has no row: no change yet.
    head: page.head ? BigInt(first?.head ?? 0n) : undefined,
    count: first?.count ?? undefined,
  };
}

/** A row of the hot list: a task with the statement's head and count, and its labels as JSON. */
type PageRow = Task & { head: bigint | null; count: number | null; labels: Prisma.JsonValue };

/**
 * The user's change head and, given a status, how many of the user's tasks
 * have it: one statement, so both are of the same moment (a list's count
 * and its change cursor).
 */
export async function headAndCount(
  db: Db,
  userId: string,
  status: TaskStatus | undefined,
): Promise<{ head: bigint; count: number | undefined }> {
  const completed =
    status === "COMPLETED"
      ? Prisma.sql`AND is_completed`
      : status === "OPEN"
        ? Prisma.sql`AND NOT is_completed`
        : Prisma.empty;
  const count =
    status === undefined
      ? Prisma.sql`NULL::int`
      : Prisma.sql`(SELECT count(*)::int FROM tasks WHERE user_id = ${userId} ${completed})`;
  const [row] = await db.$queryRaw<{ head: bigint | null; count: number | null }[]>`
    SELECT (SELECT change_seq FROM users WHERE id = ${userId}) AS head, ${count} AS count`;
  return { head: BigInt(row?.head ?? 0n), count: row?.count ?? undefined };
}

/**
 * A list in the order of a column is one range of an index, except by due
 * date: tasks without one come last in either direction, so that order is
 * two ranges of the (user_id, due_at, id) index, read one after the other,
 * those with a due date in order and then those without by id.
 */
interface Segment {
  index: number;
  where: Prisma.TaskWhereInput;
  /** The column a cursor in this range compares before the id; null when only the id tells tasks apart. */
  keyField: TaskOrderField | null;
  /** The columns it is read in order of, before the id (the index's order). */
  orderBy: TaskOrderField[];
}

function segmentsOf(field: TaskOrderField): Segment[] {
  if (field !== "dueAt") return [{ index: 0, where: {}, keyField: field, orderBy: [field] }];
  return [
    { index: 0, where: { dueAt: { not: null } }, keyField: field, orderBy: [field] },
    // All null: ordered by due_at too, so that PostgreSQL reads it from the due-date index.
    { index: 1, where: { dueAt: null }, keyField: null, orderBy: [field] },
  ];
}

/** Which segment a cursor's task is in: a due-date cursor without a date is in the second. */
function segmentIndex(key: CursorKey): number {
  return key.value === null ? 1 : 0;
}

/** One index range to read: conditions, and the columns it is ordered by before the id. */
interface Range {
  where: Prisma.TaskWhereInput[];
  orderBy: TaskOrderField[];
}

/** The ranges that hold a page, in the order they are read (walking backward: in reverse). */
function rangesOf(
  segments: Segment[],
  direction: SortDirection,
  afterKey: CursorKey | undefined,
  beforeKey: CursorKey | undefined,
  backward: boolean,
): Range[] {
  const ranges: Range[] = [];
  const start = backward ? beforeKey : afterKey;
  const towards = backward ? "backward" : "forward";
  for (const segment of backward ? [...segments].reverse() : segments) {
    // A segment wholly before the `after` cursor, or wholly beyond `before`, holds nothing of the page.
    if (afterKey && segmentIndex(afterKey) > segment.index) continue;
    if (beforeKey && segmentIndex(beforeKey) < segment.index) continue;
    const inSegment = (key: CursorKey | undefined): key is CursorKey =>
      key !== undefined && segmentIndex(key) === segment.index;
    const end = backward ? afterKey : beforeKey;
    const endBound = inSegment(end)
      ? [beyond(end, segment.keyField, direction, backward ? "forward" : "backward")]
      : [];
    if (segment.keyField === "priority" && inSegment(start)) {
      // Five priorities, so most tasks tie with the cursor's: read the rest
      // of its priority as a range of ids, then the priorities beyond it.
      // Each is one index range; a single `priority <= p` range would read
      // every task of the cursor's priority before the cursor.
      ranges.push({
        where: [
          segment.where,
          { priority: start.value as number },
          beyond(start, null, direction, towards),
          ...endBound,
        ],
        orderBy: [],
      });
      ranges.push({
        where: [segment.where, strictlyBeyond(start, "priority", direction, towards), ...endBound],
        orderBy: ["priority"],
      });
      continue;
    }
    const startBound = inSegment(start) ? [beyond(start, segment.keyField, direction, towards)] : [];
    ranges.push({ where: [segment.where, ...startBound, ...endBound], orderBy: segment.orderBy });
  }
  return ranges;
}

/**
 * A label filter's names as the user's label ids, looked up first: the
 * planner estimates a filter on ids far better than one joined through
 * names (npm run bench:indexes). A name the user has no label for matches
 * nothing.
 */
async function labelIdsOf(
  prisma: Db,
  userId: string,
  labels: ListTasksOptions["labels"],
): Promise<{ anyOf?: string[]; allOf?: string[][] }> {
  const anyOf = labels?.anyOf ? [...new Set(labels.anyOf.map(labelKey))] : undefined;
  const allOf = labels?.allOf ? [...new Set(labels.allOf.map(labelKey))] : undefined;
  const keys = [...(anyOf ?? []), ...(allOf ?? [])];
  if (keys.length === 0) return { ...(anyOf ? { anyOf: [] } : {}), ...(allOf ? { allOf: [] } : {}) };
  const found = await prisma.label.findMany({
    where: { userId, nameKey: { in: keys } },
    select: { id: true, nameKey: true },
  });
  const idOf = new Map(found.map((label) => [label.nameKey, label.id]));
  const idsOf = (names: string[]) => names.flatMap((key) => idOf.get(key) ?? []);
  return {
    ...(anyOf ? { anyOf: idsOf(anyOf) } : {}),
    // Each name as a list of the ids it may be: none when the user has no such label.
    ...(allOf ? { allOf: allOf.map((key) => idsOf([key])) } : {}),
  };
}

function matching(
  { userId, status, search, due, priorities, now }: ListTasksOptions,
  labels: { anyOf?: string[]; allOf?: string[][] },
): Prisma.TaskWhereInput {
  const where: Prisma.TaskWhereInput = { userId };
  const and: Prisma.TaskWhereInput[] = [];
  if (status !== "ALL") where.isCompleted = status === "COMPLETED";
  if (due) and.push(...dueConditions(due, now ?? new Date()));
  if (priorities) where.priority = { in: [...priorities] };
  for (const ids of labels.allOf ?? []) and.push({ labels: { some: { labelId: { in: ids } } } });
  if (labels.anyOf) and.push({ labels: { some: { labelId: { in: labels.anyOf } } } });
  if (and.length > 0) where.AND = and;
  // `contains` becomes ILIKE '%' || text || '%': escape LIKE's wildcards and its escape character.
  const text = search?.trim().replace(/[\\%_]/g, "\\$&");
  if (text) {
    where.OR = [
      { title: { contains: text, mode: "insensitive" } },
      { description: { contains: text, mode: "insensitive" } },
    ];
  }
  return where;
}

/**
 * Each due-date condition, as two index ranges: all-day tasks compare by
 * calendar day (their dueAt is midnight UTC of it) against the day of the
 * bound in the filter's zone, timed tasks by instant.
 */
function dueConditions(due: DueFilter, now: Date): Prisma.TaskWhereInput[] {
  const { timeZone } = due;
  const either = (allDay: DueBounds, timed: DueBounds): Prisma.TaskWhereInput => ({
    // One range enclosing both, which PostgreSQL can read from the index;
    // the OR then tells the two kinds apart.
    dueAt: enclosing(allDay, timed),
    OR: [
      { dueAllDay: true, dueAt: allDay },
      { dueAllDay: false, dueAt: timed },
    ],
  });
  const conditions: Prisma.TaskWhereInput[] = [];
  if (due.hasDue != null) conditions.push({ dueAt: due.hasDue ? { not: null } : null });
  if (due.on) {
    const timed = { gte: startOfDay(due.on, timeZone), lt: startOfDay(addDays(due.on, 1), timeZone) };
    conditions.push(either({ equals: due.on }, timed));
  }
  if (due.after) {
    // The day has not ended by `after`: it is that day or later.
    conditions.push(either({ gte: dayOf(due.after, timeZone) }, { gte: due.after }));
  }
  if (due.before) {
    // The day has begun before `before`: it is before the day of `before`, or that very day if it began earlier.
    const day = dayOf(due.before, timeZone);
    const begun = startOfDay(day, timeZone).getTime() < due.before.getTime();
    conditions.push(either(begun ? { lte: day } : { lt: day }, { lt: due.before }));
  }
  if (due.overdue != null) {
    const overdue = { isCompleted: false, ...either({ lt: dayOf(now, timeZone) }, { lt: now }) };
    conditions.push(
      due.overdue
        ? overdue
        : {
            OR: [
              { isCompleted: true },
              { dueAt: null },
              { dueAllDay: true, dueAt: { gte: dayOf(now, timeZone) } },
              { dueAllDay: false, dueAt: { gte: now } },
            ],
          },
    );
  }
  return conditions;
}

type DueBounds = { equals?: Date; gte?: Date; lt?: Date; lte?: Date };

/** The smallest range of dueAt holding everything either of two ranges holds. */
function enclosing(a: DueBounds, b: DueBounds): Prisma.DateTimeNullableFilter {
  const lower = (bounds: DueBounds) => bounds.equals ?? bounds.gte;
  const upper = (bounds: DueBounds) => bounds.equals ?? bounds.lte ?? bounds.lt;
  const [lowA, lowB, upA, upB] = [lower(a), lower(b), upper(a), upper(b)];
  const range: Prisma.DateTimeNullableFilter = {};
  if (lowA && lowB) range.gte = new Date(Math.min(lowA.getTime(), lowB.getTime()));
  if (upA && upB) range.lte = new Date(Math.max(upA.getTime(), upB.getTime()));
  return range;
}

type CursorKey = { value: Date | string | number | null; id: string };

/**
 * The tasks strictly beyond `key` in the list's order. Written with a
 * redundant bound on the sort column (`<=`/`>=`) so that PostgreSQL can start
 * the index scan at the cursor instead of filtering from the top.
 */
function beyond(
  key: CursorKey,
  field: TaskOrderField | null,
  direction: SortDirection,
  towards: "forward" | "backward",
): Prisma.TaskWhereInput {
  const [strict, loose] = comparisons(direction, towards);
  if (field === null) return { id: { [strict]: key.id } };
  return {
    [field]: { [loose]: key.value },
    OR: [{ [field]: { [strict]: key.value } }, { id: { [strict]: key.id } }],
  };
}

/** The tasks whose `field` is strictly beyond the cursor's, whatever their id. */
function strictlyBeyond(
  key: CursorKey,
  field: TaskOrderField,
  direction: SortDirection,
  towards: "forward" | "backward",
): Prisma.TaskWhereInput {
  return { [field]: { [comparisons(direction, towards)[0]]: key.value } };
}

/** [strict, loose]: going down the order ("lt") or up it ("gt"). */
function comparisons(direction: SortDirection, towards: "forward" | "backward") {
  const descending = (direction === "desc") === (towards === "forward");
  return descending ? (["lt", "lte"] as const) : (["gt", "gte"] as const);
}

/** The cursor needs the sort column and id of each row, whatever the client selected. */
function withKeyFields(query: TaskQuery, field: TaskOrderField): TaskQuery {
  return query.select ? { select: { ...query.select, id: true, [field]: true } } : query;
}

const cursorTags: Record<TaskOrderField, string> = {
  createdAt: "c",
  updatedAt: "u",
  title: "t",
  dueAt: "d",
  priority: "p",
};

function encodeCursor(field: TaskOrderField, task: Pick<Task, "id" | TaskOrderField>): string {
  const value = task[field];
  const raw = [cursorTags[field], value instanceof Date ? value.toISOString() : value, task.id];
  return Buffer.from(JSON.stringify(raw)).toString("base64url");
}

function decodeCursor(cursor: string, field: TaskOrderField, argument: string): CursorKey {
  const invalid = () =>
    new BadUserInputError([{ field: argument, message: "Not a cursor of this list (with this order)." }]);
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw invalid();
  }
  if (!Array.isArray(raw) || raw.length !== 3) throw invalid();
  const [tag, value, id] = raw as unknown[];
  if (tag !== cursorTags[field] || typeof id !== "string" || !isUuid(id)) throw invalid();
  if (field === "priority") {
    if (!Object.values(taskPriorities).includes(value as TaskPriority)) throw invalid();
    return { value: value as TaskPriority, id };
  }
  // A task without a due date sorts after every task with one.
  if (field === "dueAt" && value === null) return { value: null, id };
  if (typeof value !== "string") throw invalid();
  if (field === "title") {
    // No stored title holds what PostgreSQL cannot store.
    if (!isStorableText(value)) throw invalid();
    return { value, id };
  }
  const date = new Date(value);
  // Cursors carry toISOString() values; anything else, or a year PostgreSQL cannot store, is not one of ours.
  if (Number.isNaN(date.getTime()) || date.toISOString() !== value) throw invalid();
  if (date.getUTCFullYear() < 1 || date.getUTCFullYear() > 9999) throw invalid();
  return { value: date, id };
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value);
}

/**
 * One of the user's tasks, or null; with its labels (as StoredTask carries
 * them) when asked. Hand-written SQL, like the hot list's, rather than
 * Prisma's findFirst: see pageInOneStatement.
 */
export async function findTask(
  db: Db,
  userId: string,
  id: string,
  options: { labels: boolean } = { labels: false },
): Promise<(Task & { labels?: { label: Label }[] }) | null> {
  const [row] = await db.$queryRaw<(Omit<Task, "labels"> & { labels: Prisma.JsonValue })[]>`
    SELECT ${taskColumns}, ${labelsColumn(options.labels)} FROM tasks WHERE id = ${id}::uuid AND user_id = ${userId}`;
  if (row === undefined) return null;
  const { labels, ...task } = row;
  return options.labels ? { ...task, labels: reviveLabels(labels) } : task;
}

/** A column `labels` of the task in `tasks`: its labels as labelsJson makes them, or null when not wanted. */
function labelsColumn(wanted: boolean): Prisma.Sql {
  // A task's count of labels says when there are none to read.
  return wanted
    ? Prisma.sql`CASE WHEN label_count > 0 THEN ${labelsJson(Prisma.sql`tasks.id`, Prisma.sql`tasks.user_id`)} ELSE '[]'::jsonb END AS labels`
    : Prisma.sql`NULL::jsonb AS labels`;
}

/** What a new task is made of; labels by name, made when new. */
export interface NewTask {
  title: string;
  description: string | null;
  due: Due | null;
  priority: TaskPriority;
  labels: readonly string[];
}

function newTaskRow(userId: string, input: NewTask) {
  return {
    userId,
    title: input.title,
    description: input.description,
    dueAt: input.due?.at ?? null,
    dueAllDay: input.due?.allDay ?? false,
    priority: input.priority,
  };
}

/**
 * The task and its labels, and its CREATED change, in one transaction when it
 * has labels (a task without them is one INSERT that records its change too).
 */
export async function createTask(prisma: PrismaClient, userId: string, input: NewTask, query: TaskQuery = {}) {
  if (input.labels.length === 0) {
    const row = newTaskRow(userId, input);
    const [task] = await prisma.$queryRaw<Task[]>(
      withChange(
        userId,
        "CREATED",
        Prisma.sql`INSERT INTO tasks (user_id, title, description, due_at, due_all_day, priority)
          VALUES (${row.userId}, ${row.title}, ${row.description}, ${row.dueAt}::timestamptz,
            ${row.dueAllDay}::boolean, ${row.priority}::smallint)
          ${returningTask}`,
      ),
    );
    if (task === undefined) throw new Error("INSERT returned no row");
    return task;
  }
  return prisma.$transaction(async (tx) => {
    const { id } = await tx.task.create({ data: newTaskRow(userId, input), select: { id: true } });
    await addLabelsTo(tx, userId, id, await labelIdsFor(tx, userId, [...input.labels], "labels"));
    await recordChanges(tx, userId, "CREATED", [id]);
    return tx.task.findUniqueOrThrow({ ...query, where: { id } });
  });
}

/** A task's labels as the GraphQL and REST layers read them: by name, ignoring case. */
export const taskLabelsQuery = {
  select: { label: true },
  orderBy: [{ label: { nameKey: "asc" } }, { labelId: "asc" }],
} as const satisfies Prisma.Task$labelsArgs;

/**
 * Creates a task at most once per idempotency key: a retry with the same key
 * and the same input gets the task as first created (even if it has changed
 * or gone since), the same key with another input is refused, and
 * concurrent retries race on the key's primary key, so one task is made.
 */
export async function createTaskOnce(
  prisma: PrismaClient,
  userId: string,
  input: NewTask,
  idempotency: { key: string; ttlMs: number },
): Promise<StoredTask> {
  const requestHash = createHash("sha256")
    .update(
      JSON.stringify([
        "createTask",
        input.title,
        input.description,
        input.due?.at.toISOString() ?? null,
        input.due?.allDay ?? false,
        input.priority,
        [...new Set(input.labels.map(labelKey))].sort(),
      ]),
    )
    .digest("hex");
  const where = { userId_key: { userId, key: idempotency.key } };
  const replay = async (): Promise<(StoredTask & { user: User }) | undefined> => {
    const existing = await prisma.idempotencyKey.findUnique({ where });
    if (existing === null || existing.expiresAt.getTime() <= Date.now()) return undefined;
    if (existing.requestHash !== requestHash) throw new IdempotencyKeyReusedError();
    // With its owner attached: the task itself may be gone by now, so the
    // owner cannot be loaded through it later.
    const user = await prisma.user.findUniqueOrThrow({ where: { id: userId } });
    return { ...reviveTask(existing.response), user };
  };

  const replayed = await replay();
  if (replayed) return replayed;
  try {
    return await prisma.$transaction(async (tx) => {
      // This user's expired keys, this one included if it had expired, are forgotten.
      await tx.idempotencyKey.deleteMany({ where: { userId, expiresAt: { lte: new Date() } } });
      const { id } = await tx.task.create({ data: newTaskRow(userId, input), select: { id: true } });
      await addLabelsTo(tx, userId, id, await labelIdsFor(tx, userId, [...input.labels], "labels"));
      await recordChanges(tx, userId, "CREATED", [id]);
      const task = await tx.task.findUniqueOrThrow({ where: { id }, include: { labels: taskLabelsQuery } });
      await tx.idempotencyKey.create({
        data: {
          userId,
          key: idempotency.key,
          requestHash,
          response: JSON.parse(JSON.stringify(task)) as Prisma.InputJsonValue,
          expiresAt: new Date(Date.now() + idempotency.ttlMs),
        },
      });
      return task;
    });
  } catch (error) {
    // A concurrent request with the same key committed first: ours rolled back, answer as a retry.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
      const winner = await replay();
      if (winner) return winner;
    }
    throw error;
  }
}

/** A task as stored in JSON (an idempotent create's first answer, a change event), with its labels then. */
export type StoredTask = Task & { labels: { label: Label }[] };

export function reviveTask(stored: Prisma.JsonValue): StoredTask {
  const task = stored as Record<string, unknown>;
  const date = (value: unknown) => new Date(String(value));
  const labels = Array.isArray(task.labels) ? (task.labels as { label: Record<string, unknown> }[]) : [];
  return {
    id: String(task.id),
    userId: String(task.userId),
    title: String(task.title),
    description: task.description == null ? null : String(task.description),
    isCompleted: task.isCompleted === true,
    completedAt: task.completedAt == null ? null : date(task.completedAt),
    createdAt: date(task.createdAt),
    updatedAt: date(task.updatedAt),
    version: Number(task.version),
    dueAt: task.dueAt == null ? null : date(task.dueAt),
    dueAllDay: task.dueAllDay === true,
    priority: Number(task.priority ?? 0),
    labelCount: labels.length,
    labels: reviveLabels(task.labels),
  };
}

/** A task's labels as labelsJson (src/db/changes.ts) writes them. */
function reviveLabels(stored: unknown): { label: Label }[] {
  const date = (value: unknown) => new Date(String(value));
  const labels = Array.isArray(stored) ? (stored as { label: Record<string, unknown> }[]) : [];
  return labels.map(({ label }) => ({
    label: {
      id: String(label.id),
      userId: String(label.userId),
      name: String(label.name),
      nameKey: String(label.nameKey),
      color: label.color == null ? null : String(label.color),
      createdAt: date(label.createdAt),
      updatedAt: date(label.updatedAt),
    },
  }));
}

export interface TaskChanges {
  title?: string | undefined;
  /** null clears it. */
  description?: string | null | undefined;
  isCompleted?: boolean | undefined;
  /** null clears it. */
  due?: Due | null | undefined;
  priority?: TaskPriority | undefined;
  /** The whole set of labels, by name (new names make labels). */
  labels?: readonly string[] | undefined;
}

/** A written row as the Prisma model names its columns, for statements Prisma's API cannot express. */
const returningTask = Prisma.sql`RETURNING ${taskColumns}`;

/**
 * Applies the changes in one UPDATE that also bumps the version. Completing
 * an already completed task keeps its original completed_at. With
 * `expectedVersion`, the write happens only if the version still matches.
 */
export async function updateTask(
  prisma: PrismaClient,
  userId: string,
  id: string,
  changes: TaskChanges,
  expectedVersion?: number | null,
): Promise<Task> {
  const set: Prisma.Sql[] = [];
  if (changes.title !== undefined) set.push(Prisma.sql`title = ${changes.title}`);
  if (changes.description !== undefined) set.push(Prisma.sql`description = ${changes.description}`);
  if (changes.isCompleted !== undefined) {
    set.push(Prisma.sql`is_completed = ${changes.isCompleted}::boolean`);
    set.push(
      Prisma.sql`completed_at = CASE WHEN ${changes.isCompleted}::boolean THEN COALESCE(completed_at, now()) ELSE NULL END`,
    );
  }
  if (changes.due !== undefined) {
    set.push(Prisma.sql`due_at = ${changes.due?.at ?? null}::timestamptz`);
    set.push(Prisma.sql`due_all_day = ${changes.due?.allDay ?? false}::boolean`);
  }
  if (changes.priority !== undefined) set.push(Prisma.sql`priority = ${changes.priority}::smallint`);
  const update = (db: Db) =>
    writeOne(
      db,
      userId,
      id,
      expectedVersion,
      null,
      (where) => Prisma.sql`
      UPDATE tasks SET ${Prisma.join([...set, Prisma.sql`version = version + 1, updated_at = now()`], ", ")}
      ${where} ${returningTask}`,
    );
  const { labels } = changes;
  if (labels === undefined) return updated(prisma, userId, id, update);
  // The row is written (and locked) first, so the version check holds for the labels too.
  return prisma.$transaction(async (tx) => {
    const task = await update(tx);
    await setTaskLabels(tx, userId, id, await labelIdsFor(tx, userId, [...labels], "labels"));
    await recordChanges(tx, userId, "UPDATED", [id]);
    return withLabelCount(tx, task);
  });
}

/** Adds labels by name (new names make labels), in one step that raises the task's version. */
export function addTaskLabels(
  prisma: PrismaClient,
  userId: string,
  id: string,
  names: readonly string[],
  expectedVersion?: number | null,
): Promise<Task> {
  return changeLabels(prisma, userId, id, expectedVersion, async (tx) =>
    addLabelsTo(tx, userId, id, await labelIdsFor(tx, userId, [...names], "names"), "names"),
  );
}

/** Takes labels off by name (ones the task does not carry are ignored), raising the task's version. */
export function removeTaskLabels(
  prisma: PrismaClient,
  userId: string,
  id: string,
  names: readonly string[],
  expectedVersion?: number | null,
): Promise<Task> {
  return changeLabels(prisma, userId, id, expectedVersion, (tx) => removeLabelsFrom(tx, userId, id, [...names]));
}

/** Raises the task's version (checking `expectedVersion`), then changes its labels and records that, in one transaction. */
function changeLabels(
  prisma: PrismaClient,
  userId: string,
  id: string,
  expectedVersion: number | null | undefined,
  change: (tx: Db) => Promise<void>,
): Promise<Task> {
  return prisma.$transaction(async (tx) => {
    const task = await touch(tx, userId, id, expectedVersion);
    await change(tx);
    await recordChanges(tx, userId, "UPDATED", [id]);
    return withLabelCount(tx, task);
  });
}

/** The row as written before its labels changed, with the count its labels now have. */
async function withLabelCount(tx: Db, task: Task): Promise<Task> {
  const { labelCount } = await tx.task.findUniqueOrThrow({ where: { id: task.id }, select: { labelCount: true } });
  return { ...task, labelCount };
}

/** Raises the version of a task whose labels are about to change (the caller records the change). */
function touch(db: Db, userId: string, id: string, expectedVersion: number | null | undefined) {
  return writeOne(
    db,
    userId,
    id,
    expectedVersion,
    null,
    (where) => Prisma.sql`UPDATE tasks SET version = version + 1, updated_at = now() ${where} ${returningTask}`,
  );
}

/** Flips completion in a single statement, so two concurrent toggles are both applied, one after the other. */
export function toggleTask(prisma: PrismaClient, userId: string, id: string, expectedVersion?: number | null) {
  return updated(prisma, userId, id, (tx) =>
    writeOne(
      tx,
      userId,
      id,
      expectedVersion,
      null,
      (where) => Prisma.sql`
    UPDATE tasks SET is_completed = NOT is_completed,
      completed_at = CASE WHEN is_completed THEN NULL ELSE now() END,
      version = version + 1, updated_at = now()
    ${where} ${returningTask}`,
    ),
  );
}

/**
 * A write of one task and its UPDATED event, in one transaction but two
 * statements: the event's snapshot (labels included) is read by a statement
 * of its own, so it sees whatever committed while the write waited for the
 * row's lock (a label renamed meanwhile). One statement would read the
 * labels as they were when it began.
 */
function updated(prisma: PrismaClient, userId: string, id: string, write: (tx: Db) => Promise<Task>): Promise<Task> {
  return prisma.$transaction(async (tx) => {
    const task = await write(tx);
    await recordChanges(tx, userId, "UPDATED", [id]);
    return task;
  });
}

export function deleteTask(prisma: PrismaClient, userId: string, id: string, expectedVersion?: number | null) {
  return writeOne(
    prisma,
    userId,
    id,
    expectedVersion,
    "DELETED",
    (where) => Prisma.sql`DELETE FROM tasks ${where} ${returningTask}`,
  );
}

/** A transaction's client, or the client itself. */
type Db = PrismaClient | Prisma.TransactionClient;

/**
 * One statement that writes one task and, for a deletion, records its
 * tombstone; otherwise (`kind` null) the caller records the change in its
 * transaction.
 */
async function writeOne(
  prisma: Db,
  userId: string,
  id: string,
  expectedVersion: number | null | undefined,
  kind: "DELETED" | null,
  statement: (where: Prisma.Sql) => Prisma.Sql,
): Promise<Task> {
  const versionCheck = expectedVersion == null ? Prisma.empty : Prisma.sql`AND version = ${expectedVersion}`;
  const where = Prisma.sql`WHERE id = ${id}::uuid AND user_id = ${userId} ${versionCheck}`;
  const write = statement(where);
  const [task] = await prisma.$queryRaw<Task[]>(kind === null ? write : withChange(userId, kind, write));
  if (task) return task;
  // Nothing written: say why, without writing.
  if (expectedVersion != null) {
    const current = await prisma.task.findFirst({ where: { id, userId }, select: { version: true } });
    if (current) {
      throw new ConflictError(
        `The task was changed by someone else: it is at version ${current.version}, not ${expectedVersion}.`,
      );
    }
  }
  throw new NotFoundError();
}
