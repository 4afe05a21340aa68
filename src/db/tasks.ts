import { createHash } from "node:crypto";
import { BadUserInputError, ConflictError, IdempotencyKeyReusedError, NotFoundError } from "../errors.js";
import { Prisma, type PrismaClient, type Task, type User } from "../generated/prisma/client.js";
import { isStorableText } from "../text.js";

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
/** The columns a list can be ordered by: each has a (user_id, column, id) index. */
export type TaskOrderField = Extract<Prisma.TaskScalarFieldEnum, "createdAt" | "updatedAt" | "title">;
type SortDirection = Prisma.SortOrder;

/** What the GraphQL layer asks Prisma to load with each task (select/include for the requested fields). */
export type TaskQuery = { select?: Prisma.TaskSelect; include?: Prisma.TaskInclude };

export interface ListTasksOptions {
  userId: string;
  status: TaskStatus;
  search?: string | null | undefined;
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
  prisma: PrismaClient,
  options: ListTasksOptions,
  query: TaskQuery = {},
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

  const filter = matching(options);
  const afterKey = after == null ? undefined : decodeCursor(after, orderBy.field, "after");
  const beforeKey = before == null ? undefined : decodeCursor(before, orderBy.field, "before");
  const keyset: Prisma.TaskWhereInput[] = [];
  if (afterKey) keyset.push(beyond(afterKey, orderBy, "forward"));
  if (beforeKey) keyset.push(beyond(beforeKey, orderBy, "backward"));

  // Reading backward: walk the order in reverse, then put the page right.
  const direction: SortDirection = backward === (orderBy.direction === "asc") ? "desc" : "asc";
  const rows = (await prisma.task.findMany({
    ...withKeyFields(query, orderBy.field),
    where: { AND: [filter, ...keyset] },
    orderBy: [{ [orderBy.field]: direction }, { id: direction }],
    take: size + 1,
  })) as unknown as T[];
  const more = rows.length > size;
  const tasks = rows.slice(0, size);
  if (backward) tasks.reverse();

  return {
    tasks,
    hasNextPage: backward ? beforeKey !== undefined : more,
    hasPreviousPage: backward ? more : afterKey !== undefined,
    cursorOf: (task) => encodeCursor(orderBy.field, task),
    // A first page with nothing beyond it holds every match: no count needed
    // (most users' lists fit in one page).
    totalCount: () =>
      afterKey === undefined && beforeKey === undefined && !more
        ? Promise.resolve(tasks.length)
        : prisma.task.count({ where: filter }),
  };
}

function matching({ userId, status, search }: ListTasksOptions): Prisma.TaskWhereInput {
  const where: Prisma.TaskWhereInput = { userId };
  if (status !== "ALL") where.isCompleted = status === "COMPLETED";
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

type CursorKey = { value: Date | string; id: string };

/**
 * The tasks strictly beyond `key` in the list's order. Written with a
 * redundant bound on the sort column (`<=`/`>=`) so that PostgreSQL can start
 * the index scan at the cursor instead of filtering from the top.
 */
function beyond(
  key: CursorKey,
  orderBy: { field: TaskOrderField; direction: SortDirection },
  towards: "forward" | "backward",
): Prisma.TaskWhereInput {
  const descending = (orderBy.direction === "desc") === (towards === "forward");
  const [strict, loose] = descending ? (["lt", "lte"] as const) : (["gt", "gte"] as const);
  return {
    [orderBy.field]: { [loose]: key.value },
    OR: [{ [orderBy.field]: { [strict]: key.value } }, { id: { [strict]: key.id } }],
  };
}

/** The cursor needs the sort column and id of each row, whatever the client selected. */
function withKeyFields(query: TaskQuery, field: TaskOrderField): TaskQuery {
  return query.select ? { select: { ...query.select, id: true, [field]: true } } : query;
}

const cursorTags: Record<TaskOrderField, string> = { createdAt: "c", updatedAt: "u", title: "t" };

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
  if (tag !== cursorTags[field] || typeof value !== "string" || typeof id !== "string" || !isUuid(id)) {
    throw invalid();
  }
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

export function findTask(prisma: PrismaClient, userId: string, id: string, query: TaskQuery = {}) {
  return prisma.task.findFirst({ ...query, where: { id, userId } });
}

export async function createTask(
  prisma: PrismaClient,
  userId: string,
  input: { title: string; description: string | null },
  query: TaskQuery = {},
) {
  return prisma.task.create({ ...query, data: { userId, title: input.title, description: input.description } });
}

/**
 * Creates a task at most once per idempotency key: a retry with the same key
 * and the same input gets the task as first created (even if it has changed
 * or gone since), the same key with another input is refused, and
 * concurrent retries race on the key's primary key, so one task is made.
 */
export async function createTaskOnce(
  prisma: PrismaClient,
  userId: string,
  input: { title: string; description: string | null },
  idempotency: { key: string; ttlMs: number },
): Promise<Task> {
  const requestHash = createHash("sha256")
    .update(JSON.stringify(["createTask", input.title, input.description]))
    .digest("hex");
  const where = { userId_key: { userId, key: idempotency.key } };
  const replay = async (): Promise<(Task & { user: User }) | undefined> => {
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
      const task = await tx.task.create({ data: { userId, title: input.title, description: input.description } });
      await tx.idempotencyKey.create({
        data: {
          userId,
          key: idempotency.key,
          requestHash,
          response: { ...task, completedAt: task.completedAt?.toISOString() ?? null },
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

function reviveTask(stored: Prisma.JsonValue): Task {
  const task = stored as Record<string, unknown>;
  const date = (value: unknown) => new Date(String(value));
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
  };
}

export interface TaskChanges {
  title?: string | undefined;
  /** null clears it. */
  description?: string | null | undefined;
  isCompleted?: boolean | undefined;
}

/** Columns as the Prisma model names them, for statements Prisma's API cannot express. */
const returningTask = Prisma.sql`RETURNING id::text AS id, user_id AS "userId", title, description,
  is_completed AS "isCompleted", completed_at AS "completedAt", created_at AS "createdAt",
  updated_at AS "updatedAt", version`;

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
  return writeOne(
    prisma,
    userId,
    id,
    expectedVersion,
    (where) => Prisma.sql`
    UPDATE tasks SET ${Prisma.join([...set, Prisma.sql`version = version + 1, updated_at = now()`], ", ")}
    ${where} ${returningTask}`,
  );
}

/** Flips completion in a single statement, so two concurrent toggles are both applied, one after the other. */
export function toggleTask(prisma: PrismaClient, userId: string, id: string, expectedVersion?: number | null) {
  return writeOne(
    prisma,
    userId,
    id,
    expectedVersion,
    (where) => Prisma.sql`
    UPDATE tasks SET is_completed = NOT is_completed,
      completed_at = CASE WHEN is_completed THEN NULL ELSE now() END,
      version = version + 1, updated_at = now()
    ${where} ${returningTask}`,
  );
}

export function deleteTask(prisma: PrismaClient, userId: string, id: string, expectedVersion?: number | null) {
  return writeOne(
    prisma,
    userId,
    id,
    expectedVersion,
    (where) => Prisma.sql`DELETE FROM tasks ${where} ${returningTask}`,
  );
}

async function writeOne(
  prisma: PrismaClient,
  userId: string,
  id: string,
  expectedVersion: number | null | undefined,
  statement: (where: Prisma.Sql) => Prisma.Sql,
): Promise<Task> {
  const versionCheck = expectedVersion == null ? Prisma.empty : Prisma.sql`AND version = ${expectedVersion}`;
  const where = Prisma.sql`WHERE id = ${id}::uuid AND user_id = ${userId} ${versionCheck}`;
  const [task] = await prisma.$queryRaw<Task[]>(statement(where));
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
