import { BadUserInputError, ConflictError, NotFoundError } from "../errors.js";
import { type Label, Prisma, type PrismaClient } from "../generated/prisma/client.js";
import { recordChanges } from "./changes.js";

/**
 * Every read and write of labels. As with tasks, each takes the owner's id
 * and puts it in the SQL, so another user's label is indistinguishable from
 * a missing one; and task_labels' foreign keys include the owner, so the
 * database itself refuses a label of one user on a task of another.
 */

/** A user has at most this many labels. */
export const maxLabelsPerUser = 500;
/** A task carries at most this many labels. */
export const maxLabelsPerTask = 20;

/** What makes two names the same label: case is ignored. */
export function labelKey(name: string): string {
  return name.normalize("NFC").toLowerCase();
}

/**
 * The labels of many tasks in one statement: every call made while a page
 * of tasks resolves is answered by one query for all of them, on the next
 * turn of the event loop. One per request, for the caller's tasks only.
 */
export function createTaskLabelLoader(prisma: PrismaClient, userId: string | null) {
  let batch: Map<string, { resolve(labels: Label[]): void; reject(error: unknown): void }[]> | undefined;

  async function load(wanted: NonNullable<typeof batch>): Promise<void> {
    try {
      const byTask =
        userId === null ? new Map<string, Label[]>() : await labelsOfTasks(prisma, userId, [...wanted.keys()]);
      for (const [id, waiting] of wanted) for (const { resolve } of waiting) resolve(byTask.get(id) ?? []);
    } catch (error) {
      for (const waiting of wanted.values()) for (const { reject } of waiting) reject(error);
    }
  }

  return function labelsOf(taskId: string): Promise<Label[]> {
    return new Promise((resolve, reject) => {
      if (batch === undefined) {
        const wanted = new Map<string, { resolve(labels: Label[]): void; reject(error: unknown): void }[]>();
        batch = wanted;
        setImmediate(() => {
          batch = undefined;
          void load(wanted);
        });
      }
      batch.set(taskId, [...(batch.get(taskId) ?? []), { resolve, reject }]);
    });
  };
}

/** A transaction's client, or the client itself. */
type Db = PrismaClient | Prisma.TransactionClient;

/** The labels of these tasks of the user, by task id, each list by name: one statement. */
export async function labelsOfTasks(db: Db, userId: string, taskIds: string[]): Promise<Map<string, Label[]>> {
  const byTask = new Map<string, Label[]>();
  if (taskIds.length === 0) return byTask;
  const rows = await db.$queryRaw<(Label & { taskId: string })[]>`
    SELECT tl.task_id::text AS "taskId", l.id::text AS id, l.user_id AS "userId", l.name,
      l.name_key AS "nameKey", l.color, l.created_at AS "createdAt", l.updated_at AS "updatedAt"
    FROM task_labels tl JOIN labels l ON l.id = tl.label_id AND l.user_id = tl.user_id
    WHERE tl.user_id = ${userId} AND tl.task_id = ANY(${taskIds}::uuid[])
    ORDER BY l.name_key, l.id`;
  for (const { taskId, ...label } of rows) byTask.set(taskId, [...(byTask.get(taskId) ?? []), label]);
  return byTask;
}

export type LabelQuery = { select?: Prisma.LabelSelect; include?: Prisma.LabelInclude };

export function listLabels(prisma: PrismaClient, userId: string, query: LabelQuery = {}) {
  return prisma.label.findMany({ ...query, where: { userId }, orderBy: [{ nameKey: "asc" }, { id: "asc" }] });
}

export function findLabel(prisma: PrismaClient, userId: string, id: string, query: LabelQuery = {}) {
  return prisma.label.findFirst({ ...query, where: { id, userId } });
}

export async function createLabel(
  prisma: PrismaClient,
  userId: string,
  input: { name: string; color: string | null },
  query: LabelQuery = {},
): Promise<Label> {
  return prisma.$transaction(async (tx) => {
    await lockLabelsOf(tx, userId);
    if ((await tx.label.count({ where: { userId } })) >= maxLabelsPerUser) throw tooManyLabels("name");
    try {
      return await tx.label.create({
        ...query,
        data: { userId, name: input.name, nameKey: labelKey(input.name), color: input.color },
      });
    } catch (error) {
      throw nameTaken(error, input.name);
    }
  });
}

/**
 * Renames and/or recolors a label. Either shows on every task that carries
 * the label, so those tasks' versions go up with it (their ETags change) and
 * each records a change.
 */
export async function updateLabel(
  prisma: PrismaClient,
  userId: string,
  id: string,
  changes: { name?: string | undefined; color?: string | null | undefined },
  query: LabelQuery = {},
): Promise<Label> {
  return prisma.$transaction(async (tx) => {
    const current = await lockLabel(tx, userId, id);
    if (current === undefined) throw new NotFoundError("Label");
    // Tasks show their labels' names and colors: either changing is a change of each task carrying it.
    const renamed =
      (changes.name !== undefined && changes.name !== current.name) ||
      (changes.color !== undefined && changes.color !== current.color);
    try {
      const label = await tx.label.update({
        ...query,
        where: { id },
        data: {
          ...(changes.name === undefined ? {} : { name: changes.name, nameKey: labelKey(changes.name) }),
          ...(changes.color === undefined ? {} : { color: changes.color }),
        },
      });
      if (renamed) await recordChanges(tx, userId, "UPDATED", await touchTasksLabelled(tx, userId, id));
      return label;
    } catch (error) {
      throw nameTaken(error, changes.name ?? "");
    }
  });
}

/** Deletes a label and takes it off every task (whose versions go up). */
export async function deleteLabel(prisma: PrismaClient, userId: string, id: string): Promise<{ id: string }> {
  return prisma.$transaction(async (tx) => {
    // Locked, the row cannot go away before the delete below.
    if ((await lockLabel(tx, userId, id)) === undefined) throw new NotFoundError("Label");
    const touched = await touchTasksLabelled(tx, userId, id, "removing");
    await tx.label.deleteMany({ where: { id, userId } });
    await recordChanges(tx, userId, "UPDATED", touched);
    return { id };
  });
}

/**
 * Locks the label's row for the rest of the transaction, before its tasks
 * are read: a concurrent write putting it on a task (whose foreign-key check
 * takes a share lock on this row) then either commits first, and its task is
 * among those read, or waits until this transaction is done.
 */
async function lockLabel(tx: Db, userId: string, id: string) {
  const [row] = await tx.$queryRaw<{ name: string; color: string | null }[]>`
    SELECT name, color FROM labels WHERE id = ${id}::uuid AND user_id = ${userId} FOR UPDATE`;
  return row;
}

/** The tasks carrying a label changed (or are about to lose it): raise their versions. Returns their ids. */
async function touchTasksLabelled(tx: Db, userId: string, labelId: string, removing?: "removing"): Promise<string[]> {
  const count = removing ? Prisma.sql`, label_count = label_count - 1` : Prisma.empty;
  const rows = await tx.$queryRaw<{ id: string }[]>`
    UPDATE tasks SET version = version + 1, updated_at = now() ${count}
    WHERE user_id = ${userId}
      AND id IN (SELECT task_id FROM task_labels WHERE user_id = ${userId} AND label_id = ${labelId}::uuid)
    RETURNING id::text AS id`;
  return rows.map((row) => row.id);
}

/**
 * The ids of the user's labels with these names (ignoring case), making the
 * ones that do not exist yet under the name as given. Concurrent requests
 * making the same new label agree on one row.
 */
export async function labelIdsFor(tx: Db, userId: string, names: string[], field: string): Promise<string[]> {
  const byKey = new Map(names.map((name) => [labelKey(name), name]));
  if (byKey.size === 0) return [];
  const keys = [...byKey.keys()];
  const existing = await tx.label.findMany({ where: { userId, nameKey: { in: keys } }, select: { id: true } });
  if (existing.length < keys.length) {
    await lockLabelsOf(tx, userId);
    const count = await tx.label.count({ where: { userId } });
    const present = await tx.label.findMany({ where: { userId, nameKey: { in: keys } }, select: { nameKey: true } });
    const known = new Set(present.map((label) => label.nameKey));
    const toMake = keys.filter((key) => !known.has(key));
    if (count + toMake.length > maxLabelsPerUser) throw tooManyLabels(field);
    await tx.label.createMany({
      data: toMake.map((key) => ({ userId, name: byKey.get(key) ?? key, nameKey: key })),
      skipDuplicates: true,
    });
  }
  const labels = await tx.label.findMany({ where: { userId, nameKey: { in: keys } }, select: { id: true } });
  return labels.map((label) => label.id);
}

/** Makes the task carry exactly these labels. */
export async function setTaskLabels(tx: Db, userId: string, taskId: string, labelIds: string[]): Promise<void> {
  await tx.taskLabel.deleteMany({ where: { taskId, userId, labelId: { notIn: labelIds } } });
  await addLabelsTo(tx, userId, taskId, labelIds);
  await recount(tx, userId, taskId);
}

/** tasks.label_count after a change to the task's labels. */
async function recount(tx: Db, userId: string, taskId: string): Promise<void> {
  await tx.$executeRaw`
    UPDATE tasks SET label_count = (SELECT count(*) FROM task_labels WHERE task_id = ${taskId}::uuid)
    WHERE id = ${taskId}::uuid AND user_id = ${userId}`;
}

/** Adds labels to the task, keeping the ones it has; refused past maxLabelsPerTask. */
export async function addLabelsTo(
  tx: Db,
  userId: string,
  taskId: string,
  labelIds: string[],
  field = "labels",
): Promise<void> {
  if (labelIds.length === 0) return;
  await tx.taskLabel.createMany({
    data: labelIds.map((labelId) => ({ userId, taskId, labelId })),
    skipDuplicates: true,
  });
  if ((await tx.taskLabel.count({ where: { taskId } })) > maxLabelsPerTask) {
    throw new BadUserInputError([{ field, message: `A task can carry at most ${maxLabelsPerTask} labels.` }]);
  }
  await recount(tx, userId, taskId);
}

/** Takes labels (by name, ignoring case) off the task; names it does not carry are ignored. */
export async function removeLabelsFrom(tx: Db, userId: string, taskId: string, names: string[]): Promise<void> {
  const keys = [...new Set(names.map(labelKey))];
  if (keys.length === 0) return;
  await tx.taskLabel.deleteMany({ where: { taskId, userId, label: { nameKey: { in: keys } } } });
  await recount(tx, userId, taskId);
}

/**
 * Serializes the label writes of one user (the per-user cap is counted, then
 * written), without blocking anyone else: a transaction-scoped advisory lock
 * on the user's id.
 */
async function lockLabelsOf(tx: Db, userId: string): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`labels:${userId}`}, 0))`;
}

function tooManyLabels(field: string) {
  return new BadUserInputError([{ field, message: `A user can have at most ${maxLabelsPerUser} labels.` }]);
}

function nameTaken(error: unknown, name: string): unknown {
  if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") {
    return new ConflictError(`There is already a label named "${name}" (names ignore case).`);
  }
  return error;
}
