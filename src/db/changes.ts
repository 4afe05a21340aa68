import { BadUserInputError, CursorExpiredError } from "../errors.js";
import { Prisma, type PrismaClient } from "../generated/prisma/client.js";

/**
 * The per-user change log: every write to a task records an event in the
 * same statement or transaction as the write, so there is no change without
 * its event and no event without its change.
 *
 * Cursors are per user: 1, 2, 3... Each write raises `users.change_seq` as
 * the last step of its transaction and takes its cursor from it; the row
 * stays locked until the write commits, so the next write of the same user
 * waits and gets a larger cursor that becomes visible only after this one.
 * A reader that has seen cursor n can therefore never later find an event
 * below n appear. (A global sequence gives no such promise: a transaction
 * can take 7, another 8, and 8 commit first; a reader at 8 then misses 7.)
 * Cursors may skip a number (a write that allocated and then found
 * nothing), never go back.
 */

export type ChangeKind = "CREATED" | "UPDATED" | "DELETED";

/**
 * The PostgreSQL channel every write notifies, with the user's id, as part
 * of its own statement: delivered when (and only if) it commits, through the
 * connection that wrote, so no extra connection or round trip is needed.
 * src/live.ts listens on it when there is no Redis.
 */
export const changeChannel = "tasks_api_changes";

/** A transaction's client, or the client itself. */
type Db = PrismaClient | Prisma.TransactionClient;

/** A task's columns as the Prisma model names them. */
export const taskColumns = Prisma.sql`id::text AS id, user_id AS "userId", title, description,
  is_completed AS "isCompleted", completed_at AS "completedAt", created_at AS "createdAt",
  updated_at AS "updatedAt", version, due_at AS "dueAt", due_all_day AS "dueAllDay", priority,
  label_count AS "labelCount"`;

/**
 * The labels of one task (its id and owner as SQL expressions) as JSON, by
 * name, in the shape reviveLabels reads: [{ label: { id, name, ... } }].
 */
export function labelsJson(taskId: Prisma.Sql, userId: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`COALESCE((
    SELECT jsonb_agg(jsonb_build_object('label', to_jsonb(l)) ORDER BY l."nameKey", l.id)
    FROM (SELECT l.id::text AS id, l.user_id AS "userId", l.name, l.name_key AS "nameKey", l.color,
            l.created_at AS "createdAt", l.updated_at AS "updatedAt"
          FROM task_labels tl JOIN labels l ON l.id = tl.label_id AND l.user_id = tl.user_id
          WHERE tl.task_id = ${taskId} AND tl.user_id = ${userId}) l), '[]'::jsonb)`;
}

/**
 * The whole task in row `t` (with the columns of `taskColumns`) and its
 * labels, as JSON in the shape reviveTask reads.
 */
const snapshotOfT = Prisma.sql`to_jsonb(t) || jsonb_build_object('labels', ${labelsJson(Prisma.sql`t.id::uuid`, Prisma.sql`t."userId"`)})`;

/**
 * One statement that writes one task (`write` returns its row with the
 * columns of `taskColumns`) and records the change: the event exists exactly
 * when the row was written. Only for a task made without labels (CREATED)
 * or deleted (a tombstone, no snapshot): the labels it reads are as of the
 * statement's start, which for an update could miss a change committed while
 * it waited for the row (updates use recordChanges in their transaction).
 */
export function withChange(userId: string, kind: "CREATED" | "DELETED", write: Prisma.Sql): Prisma.Sql {
  const snapshot = kind === "DELETED" ? Prisma.sql`NULL::jsonb` : snapshotOfT;
  return Prisma.sql`
    WITH t AS (${write}),
    s AS (
      UPDATE users SET change_seq = change_seq + 1
      WHERE id = ${userId} AND EXISTS (SELECT 1 FROM t)
      RETURNING change_seq),
    e AS (
      INSERT INTO task_events (user_id, seq, task_id, kind, version, task)
      SELECT t."userId", s.change_seq, t.id::uuid, ${kind}, t.version, ${snapshot} FROM t, s),
    n AS (SELECT pg_notify(${changeChannel}, ${userId}) FROM s)
    SELECT t.* FROM t, (SELECT count(*) FROM n) AS notified`;
}

/**
 * Records the changes of these tasks as they are now, as the last step of
 * the transaction `tx` that made them (taking the user's row lock last, so
 * that it is held for as short a time as possible and never while waiting
 * for a task's row).
 */
export async function recordChanges(
  tx: Db,
  userId: string,
  kind: Exclude<ChangeKind, "DELETED">,
  taskIds: readonly string[],
): Promise<void> {
  const ids = [...new Set(taskIds)];
  if (ids.length === 0) return;
  await tx.$queryRaw`
    WITH s AS (
      UPDATE users SET change_seq = change_seq + ${ids.length}::int
      WHERE id = ${userId}
      RETURNING change_seq - ${ids.length}::int AS base),
    e AS (
      INSERT INTO task_events (user_id, seq, task_id, kind, version, task)
      SELECT t."userId", s.base + row_number() OVER (ORDER BY t.id), t.id::uuid, ${kind}, t.version, ${snapshotOfT}
      FROM (SELECT ${taskColumns} FROM tasks WHERE user_id = ${userId} AND id = ANY(${ids}::uuid[])) t, s
      RETURNING 1)
    SELECT count(*)::int AS notified FROM (SELECT pg_notify(${changeChannel}, ${userId}) FROM s) AS n
    WHERE EXISTS (SELECT 1 FROM e)`;
}

/** An event as read from the log. */
export interface ChangeRow {
  seq: bigint;
  taskId: string;
  kind: ChangeKind;
  version: number;
  task: Prisma.JsonValue | null;
  occurredAt: Date;
}

export interface ChangePage {
  events: ChangeRow[];
  /** More events follow the last one (or `after`, when there are none). */
  hasMore: boolean;
  /** The user's latest cursor, as of the read. */
  head: bigint;
}

/** The largest page of changes one read returns. */
export const maxChangePage = 500;

/** A cursor as clients see it: the decimal number, opaque to them. */
export function formatChangeCursor(seq: bigint): string {
  return seq.toString();
}

/** A client's cursor, or a clear error naming the argument. */
export function parseChangeCursor(cursor: string, field: string): bigint {
  if (!/^(0|[1-9][0-9]{0,17})$/.test(cursor)) {
    throw new BadUserInputError([
      { field, message: "Not a change cursor: use one from a list or a change feed (e.g. changeCursor)." },
    ]);
  }
  return BigInt(cursor);
}

/**
 * The user's events after `after`, in cursor order. One statement, so the
 * events, the head and the retention mark come from one snapshot: a cursor
 * that retention has passed is refused (CURSOR_EXPIRED), never answered
 * with a gap, and one beyond the head is not one of this user's.
 */
export async function readChanges(
  db: Db,
  userId: string,
  after: bigint,
  limit: number,
  field = "after",
): Promise<ChangePage> {
  const rows = await db.$queryRaw<
    {
      head: bigint;
      purgedThrough: bigint;
      seq: bigint | null;
      taskId: string | null;
      kind: ChangeKind | null;
      version: number | null;
      task: Prisma.JsonValue | null;
      occurredAt: Date | null;
    }[]
  >`
    SELECT u.change_seq AS head, u.changes_purged_through AS "purgedThrough",
      e.seq, e.task_id::text AS "taskId", e.kind, e.version, e.task, e.occurred_at AS "occurredAt"
    FROM users u
    LEFT JOIN LATERAL (
      SELECT * FROM task_events
      WHERE user_id = u.id AND seq > ${after}::bigint
      ORDER BY seq LIMIT ${limit + 1}::int) e ON true
    WHERE u.id = ${userId}
    ORDER BY e.seq`;
  const [first] = rows;
  const head = first?.head ?? 0n;
  if (after > head) {
    throw new BadUserInputError([{ field, message: "This cursor is beyond your latest change: it is not yours." }]);
  }
  if (first !== undefined && after < first.purgedThrough) throw new CursorExpiredError();
  const events: ChangeRow[] = [];
  for (const row of rows) {
    if (row.seq === null || row.taskId === null || row.kind === null || row.version === null) continue;
    if (row.occurredAt === null) continue;
    events.push({
      seq: BigInt(row.seq),
      taskId: row.taskId,
      kind: row.kind,
      version: row.version,
      task: row.task,
      occurredAt: row.occurredAt,
    });
  }
  return { events: events.slice(0, limit), hasMore: events.length > limit, head: BigInt(head) };
}

/** The user's latest cursor. */
export async function headOf(db: Db, userId: string): Promise<bigint> {
  const [row] = await db.$queryRaw<{ head: bigint }[]>`SELECT change_seq AS head FROM users WHERE id = ${userId}`;
  return row === undefined ? 0n : BigInt(row.head);
}

/** The latest cursors of these users (one query however many subscribe: the live feed's fallback poll). */
export async function headsOf(db: Db, userIds: readonly string[]): Promise<Map<string, bigint>> {
  if (userIds.length === 0) return new Map();
  const rows = await db.$queryRaw<{ id: string; head: bigint }[]>`
    SELECT id, change_seq AS head FROM users WHERE id = ANY(${[...userIds]}::text[])`;
  return new Map(rows.map((row) => [row.id, BigInt(row.head)]));
}

/**
 * Drops events older than `before`, at most `batch` of them, and raises each
 * affected user's retention mark to the newest cursor dropped, in the same
 * statement: a reader sees both or neither. Returns how many were dropped.
 */
export async function purgeChanges(prisma: PrismaClient, before: Date, batch = 1_000): Promise<number> {
  return prisma.$transaction(async (tx) => {
    // One instance purges at a time; the others skip this round instead of fighting over the same rows.
    const [lock] = await tx.$queryRaw<{ locked: boolean }[]>`
      SELECT pg_try_advisory_xact_lock(hashtextextended('tasks-api:purge-changes', 0)) AS locked`;
    if (!lock?.locked) return 0;
    return purgeBatch(tx, before, batch);
  });
}

async function purgeBatch(db: Db, before: Date, batch: number): Promise<number> {
  const [row] = await db.$queryRaw<{ dropped: number }[]>`
    WITH d AS (
      DELETE FROM task_events WHERE (user_id, seq) IN (
        SELECT user_id, seq FROM task_events WHERE occurred_at < ${before} LIMIT ${batch}::int)
      RETURNING user_id, seq),
    m AS (SELECT user_id, max(seq) AS through FROM d GROUP BY user_id),
    u AS (
      UPDATE users SET changes_purged_through = m.through
      FROM m WHERE users.id = m.user_id AND users.changes_purged_through < m.through
      RETURNING 1)
    SELECT (SELECT count(*) FROM d)::int AS dropped`;
  return row?.dropped ?? 0;
}
