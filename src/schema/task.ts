import type { ArgBuilder, InputShapeFromFields } from "@pothos/core";
import { queryFromInfo } from "@pothos/plugin-prisma";
import { type GraphQLResolveInfo, Kind, type SelectionNode } from "graphql";
import { z } from "zod";
import { isTimeZone } from "../calendar.js";
import type { Context } from "../context.js";
import { formatChangeCursor, headOf } from "../db/changes.js";
import { labelKey, labelsOfTasks, maxLabelsPerTask } from "../db/labels.js";
import {
  addTaskLabels,
  createTask,
  createTaskOnce,
  type Due,
  deleteTask,
  findTask,
  headAndCount,
  listTasks,
  type OneStatement,
  removeTaskLabels,
  type TaskOrderField,
  type TaskPriority,
  type TaskPriorityName,
  type TaskQuery,
  type TaskStatus,
  taskPriorities,
  toggleTask,
  updateTask,
} from "../db/tasks.js";
import type { Label as LabelRow, Prisma } from "../generated/prisma/client.js";
import { isStorableText } from "../text.js";
import { builder } from "./builder.js";
import { Label, labelName } from "./label.js";

export const TaskPriorityEnum = builder.enumType("TaskPriority", {
  description: "How urgent a task is, from NONE to URGENT. Ordering by priority follows this order.",
  values: {
    NONE: { value: taskPriorities.NONE },
    LOW: { value: taskPriorities.LOW },
    MEDIUM: { value: taskPriorities.MEDIUM },
    HIGH: { value: taskPriorities.HIGH },
    URGENT: { value: taskPriorities.URGENT },
  } as const satisfies Record<TaskPriorityName, { value: number }>,
});

export const Task = builder.prismaObject("Task", {
  description: "Something to do, owned by one user.",
  fields: (t) => ({
    id: t.exposeID("id", { description: "A UUID." }),
    title: t.exposeString("title", { description: "1 to 200 characters." }),
    description: t.exposeString("description", { nullable: true, description: "At most 1000 characters." }),
    isCompleted: t.exposeBoolean("isCompleted", { description: "Whether the task is done." }),
    completedAt: t.expose("completedAt", {
      type: "DateTime",
      nullable: true,
      description: "When the task was completed; null while it is open.",
    }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    updatedAt: t.expose("updatedAt", { type: "DateTime", description: "When the task last changed." }),
    version: t.exposeInt("version", {
      description: "Starts at 1 and grows by one with every change. Pass it as `expectedVersion` to update safely.",
    }),
    dueDate: t.field({
      type: "Date",
      nullable: true,
      description: "The calendar day an all-day task is due; null for a timed task or one without a due date.",
      resolve: (task) => (task.dueAllDay ? task.dueAt : null),
    }),
    dueAt: t.field({
      type: "DateTime",
      nullable: true,
      description: "The instant a timed task is due; null for an all-day task or one without a due date.",
      resolve: (task) => (task.dueAllDay ? null : task.dueAt),
    }),
    priority: t.field({
      type: TaskPriorityEnum,
      description: "NONE unless set.",
      // The column's CHECK constraint holds it to 0..4.
      resolve: (task) => task.priority as TaskPriority,
    }),
    labels: t.field({
      type: [Label],
      description: `The task's labels (at most ${maxLabelsPerTask}), by name.`,
      resolve: (task, _args, context) => {
        // An idempotent create's replay carries the labels the task was made with.
        const stored = (task as { labels?: { label: LabelRow }[] }).labels;
        if (stored) return stored.map(({ label }) => label);
        // The row's count says when there is nothing to look up.
        return task.labelCount === 0 ? [] : context.labelsOf(task.id);
      },
    }),
    ownerId: t.exposeID("userId", { description: "The id of the user the task belongs to: always the caller." }),
    owner: t.relation("user", {
      description: "The user the task belongs to: always the caller.",
      // When a list did not load it with the task (a change event's task,
      // which may be gone by now): by the owner's id, not through the task.
      resolve: (query, task, _args, context) =>
        context.prisma.user.findUniqueOrThrow({ ...query, where: { id: task.userId } }),
    }),
  }),
});

// --- Inputs and validation --------------------------------------------------

/** Refused as input rather than stored changed (see isStorableText). */
const storableText = isStorableText;
const storableTextMessage = "Must be text without NUL characters or unpaired surrogates.";
const title = z
  .string()
  .trim()
  .min(1, "Must not be empty.")
  .max(200, "Must be at most 200 characters.")
  .refine(storableText, storableTextMessage);
const description = z
  .string()
  .trim()
  .max(1000, "Must be at most 1000 characters.")
  .refine(storableText, storableTextMessage);
const taskId = z.string().refine((value) => /^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$/i.test(value), {
  message: "Must be a task id (a UUID).",
});
const version = z.number().int().min(1, "Versions start at 1.");

/** An empty description is no description. */
const emptyToNull = (value: string | null | undefined) => (value === "" ? null : value);

const TaskStatusFilter = builder.enumType("TaskStatusFilter", {
  description: "Which tasks to list by completion.",
  values: {
    ALL: { description: "Open and completed tasks." },
    OPEN: { description: "Tasks not yet completed." },
    COMPLETED: { description: "Completed tasks." },
  } as const satisfies Record<TaskStatus, unknown>,
});

const TaskOrderFieldEnum = builder.enumType("TaskOrderField", {
  values: {
    CREATED_AT: { value: "createdAt", description: "When the task was created." },
    UPDATED_AT: { value: "updatedAt", description: "When the task last changed." },
    TITLE: { value: "title", description: "The title, in the database's collation." },
    DUE: {
      value: "dueAt",
      description:
        "When the task is due; tasks without a due date come last in either direction. An all-day task sorts as the start of its day in UTC.",
    },
    PRIORITY: { value: "priority", description: "NONE to URGENT: DESC puts the most urgent first." },
  } as const satisfies Record<string, { value: TaskOrderField; description: string }>,
});

const SortDirection = builder.enumType("SortDirection", {
  values: { ASC: { value: "asc" }, DESC: { value: "desc" } } as const satisfies Record<
    string,
    { value: Prisma.SortOrder }
  >,
});

const timeZone = z.string().refine(isTimeZone, "Must be an IANA time zone, such as Europe/Berlin or UTC.");

/** Label names in a list: each valid, at most `max` different ones (ignoring case). */
const labelNames = (max: number) =>
  z.array(labelName).refine((names) => new Set(names.map(labelKey)).size <= max, `At most ${max} different labels.`);

const TaskLabelFilter = builder.inputType("TaskLabelFilter", {
  description: "Tasks by their labels' names (ignoring case). A name no label has matches no task.",
  fields: (t) => ({
    anyOf: t.stringList({ description: "Carrying at least one of these.", validate: labelNames(maxLabelsPerTask) }),
    allOf: t.stringList({ description: "Carrying every one of these.", validate: labelNames(maxLabelsPerTask) }),
  }),
});

const TaskFilter = builder.inputType("TaskFilter", {
  description:
    "Narrows a task list; every condition given must hold. Calendar days are read in `timeZone`: an all-day task is due throughout its day there, a timed task at its instant.",
  fields: (t) => ({
    status: t.field({ type: TaskStatusFilter, defaultValue: "ALL" }),
    search: t.string({
      description: "Case-insensitive text to find in the title or description.",
      validate: z.string().max(200, "Must be at most 200 characters.").refine(storableText, storableTextMessage),
    }),
    timeZone: t.string({
      defaultValue: "UTC",
      validate: timeZone,
      description: "The IANA time zone that calendar days are read in, e.g. Europe/Berlin. UTC by default.",
    }),
    dueOn: t.field({ type: "Date", description: "Due on this day: all-day tasks of the date, timed ones within it." }),
    dueAfter: t.field({
      type: "DateTime",
      description: "Due at or after this instant (an all-day task whose day has not ended by then counts).",
    }),
    dueBefore: t.field({
      type: "DateTime",
      description: "Due before this instant (an all-day task whose day has begun by then counts).",
    }),
    overdue: t.boolean({
      description:
        "true: open tasks past due (a timed task after its instant, an all-day task once its day is over); false: every other task.",
    }),
    hasDueDate: t.boolean({ description: "true: tasks with a due date; false: tasks without one." }),
    priorities: t.field({ type: [TaskPriorityEnum], description: "Any of these priorities." }),
    labels: t.field({ type: TaskLabelFilter }),
  }),
});

const TaskOrder = builder.inputType("TaskOrder", {
  description: "How to order a task list. Ties are broken by id, so the order is stable.",
  fields: (t) => ({
    field: t.field({ type: TaskOrderFieldEnum, required: true, defaultValue: "createdAt" }),
    direction: t.field({ type: SortDirection, required: true, defaultValue: "desc" }),
  }),
});

const TaskDueInput = builder.inputType("TaskDueInput", {
  description: "When a task is due: give exactly one of `date` (all day) and `at` (an instant).",
  fields: (t) => ({
    date: t.field({ type: "Date", description: "Due all day on this calendar date." }),
    at: t.field({ type: "DateTime", description: "Due at this instant." }),
  }),
});

const due = z
  .object({ date: z.date().nullish(), at: z.date().nullish() })
  .refine((value) => (value.date == null) !== (value.at == null), "Give exactly one of date and at.");

/** The data layer's due date from the input's. */
function dueOf(input: { date?: Date | null | undefined; at?: Date | null | undefined }): Due {
  return input.date ? { at: input.date, allDay: true } : { at: input.at ?? new Date(Number.NaN), allDay: false };
}

const labelsField = (t: Parameters<Parameters<typeof builder.inputType>[1]["fields"]>[0], verb: string) =>
  t.stringList({
    description: `${verb} (at most ${maxLabelsPerTask}), by name: a name the caller has no label for makes one.`,
  });

const CreateTaskInput = builder.inputType("CreateTaskInput", {
  fields: (t) => ({
    title: t.string({ required: true, description: "1 to 200 characters; surrounding spaces are removed." }),
    description: t.string({ description: "At most 1000 characters." }),
    due: t.field({ type: TaskDueInput, description: "When the task is due; none unless given." }),
    priority: t.field({ type: TaskPriorityEnum, description: "NONE unless given." }),
    labels: labelsField(t, "Its labels"),
  }),
  validate: z.object({
    title,
    description: description.nullish(),
    due: due.nullish(),
    priority: z.number().nullish(),
    labels: labelNames(maxLabelsPerTask).nullish(),
  }),
});

const UpdateTaskInput = builder.inputType("UpdateTaskInput", {
  description: "The fields to change; omitted ones stay as they are. Setting `description` to null clears it.",
  fields: (t) => ({
    title: t.string(),
    description: t.string(),
    isCompleted: t.boolean({ description: "Completing sets `completedAt`; reopening clears it." }),
    due: t.field({ type: TaskDueInput, description: "When the task is due; null removes the due date." }),
    priority: t.field({ type: TaskPriorityEnum }),
    labels: labelsField(t, "The whole set of its labels, replacing the ones it has"),
    expectedVersion: t.int({
      description: "If given, the update happens only while the task is still at this version (else CONFLICT).",
    }),
  }),
  validate: z
    .object({
      // null title means "not given": a title cannot be removed.
      title: title.nullish(),
      description: description.nullish(),
      isCompleted: z.boolean().nullish(),
      due: due.nullish(),
      // null priority and labels mean "not given", as for the title.
      priority: z.number().nullish(),
      labels: labelNames(maxLabelsPerTask).nullish(),
      expectedVersion: version.nullish(),
    })
    .refine(
      (input) =>
        input.title != null ||
        input.description !== undefined ||
        input.isCompleted != null ||
        input.due !== undefined ||
        input.priority != null ||
        input.labels != null,
      { message: "Give at least one of title, description, isCompleted, due, priority, labels." },
    ),
});

// --- Queries ----------------------------------------------------------------

type Args = ArgBuilder<typeof builder.$inferSchemaTypes>;

/** The arguments of a task list, shared by `Query.tasks` and `User.tasks`. */
export const taskListArgs = (arg: Args) => ({
  ...arg.connectionArgs(),
  filter: arg({ type: TaskFilter }),
  orderBy: arg({ type: TaskOrder }),
});

export const taskListDescription =
  "The caller's tasks, newest first unless `orderBy` says otherwise. Pages of 20 by default, 100 at most.";

/** One type for every task list, so that clients share one fragment and one cache policy. */
export const TaskConnection = builder.connectionObject(
  {
    type: Task,
    name: "TaskConnection",
    description: "A page of tasks.",
    fields: (t) => ({
      changeCursor: t.string({
        description:
          "The change log's cursor as of this very read (the same snapshot as the page): follow `taskChanges` or `taskEvents` from it to keep the list current, with nothing missed.",
        resolve: (connection) => {
          const { changeCursor } = connection as { changeCursor?: string };
          // resolveTaskList reads it whenever the field is asked for.
          if (changeCursor === undefined) throw new Error("changeCursor was not read with the page");
          return changeCursor;
        },
      }),
    }),
  },
  { name: "TaskEdge", description: "A task and its cursor." },
);

/** The arguments a task list's resolver receives, as Pothos infers them. */
type TaskListArgs = InputShapeFromFields<ReturnType<typeof taskListArgs>>;

/**
 * One page of the user's tasks as a Relay connection. Asked for its
 * `changeCursor`, the page, its labels and its count must be the state at
 * that cursor, so that following the changes from it starts exactly where
 * the page left off.
 *
 * The hot list (by status at most, in creation order: REST's default) is
 * read with the user's change head and count in one statement, one snapshot
 * by construction (listTasks' pageInOneStatement). Any other list is read between
 * two reads of the head: every write of a user's tasks raises the head in
 * its own transaction, so when it reads the same before and after the page,
 * no write committed in between and every statement read the state at that
 * head. When a write did land in between, the page is
 * read again in a REPEATABLE READ transaction: one snapshot by construction.
 * Measured (npm run bench, W1 REST, one process, LOG_LEVEL=info,
 * interleaved with the commit before): the head before and after instead
 * of a transaction, 363 → 471 req/s, 6 → 3 statements; the one statement,
 * see the README's Performance section.
 */
export async function resolveTaskList(userId: string, args: TaskListArgs, context: Context, info: GraphQLResolveInfo) {
  const asked = fieldNamesAt(info, []);
  if (!asked.has("changeCursor")) {
    return taskList(context.prisma, userId, args, context, info, { head: false, count: asked.has("totalCount") });
  }
  // The hot list needs no head before it: its statement reads its own.
  const before = isHotList(args) ? undefined : await headOf(context.prisma, userId);
  const page = await pageAtHead(context.prisma, userId, args, context, info, asked);
  if (page.head === (page.snapshotHead ?? before)) return page;
  return context.prisma.$transaction((tx) => pageAtHead(tx, userId, args, context, info, asked), {
    isolationLevel: "RepeatableRead",
  });
}

/**
 * Whether listTasks reads this list in one statement with the head: by
 * status alone, in creation order. (Should the two ever disagree, the page
 * is read again in a transaction: slower, never wrong.)
 */
function isHotList(args: TaskListArgs): boolean {
  const { status: _status, timeZone: _timeZone, ...others } = args.filter ?? {};
  return (
    (args.orderBy?.field ?? "createdAt") === "createdAt" &&
    Object.values(others).every((value) => value === null || value === undefined)
  );
}

/**
 * The page with everything it was asked for read now (its labels, its
 * count), not later by field resolvers, and the head they are all of:
 * `snapshotHead` when the page's own statement read them all; otherwise
 * `head`, read last (with the count, when that is by status alone), for
 * resolveTaskList to check against the head it read before.
 */
async function pageAtHead(
  db: Parameters<typeof listTasks>[0],
  userId: string,
  args: TaskListArgs,
  context: Context,
  info: GraphQLResolveInfo,
  asked: Set<string>,
) {
  const connection = await taskList(db, userId, args, context, info, { head: true, count: asked.has("totalCount") });
  if (connection.head !== undefined) {
    // Read in one statement, with its labels and count if asked for.
    return {
      ...connection,
      head: connection.head,
      snapshotHead: connection.head,
      changeCursor: formatChangeCursor(connection.head),
    };
  }
  // The Task.labels field uses what a row carries.
  if (fieldNamesAt(info, ["edges", "node"]).has("labels")) {
    const nodes = connection.edges.map((edge) => edge.node);
    const labels = await labelsOfTasks(
      db,
      userId,
      nodes.filter((task) => task.labelCount > 0).map((task) => task.id),
    );
    for (const node of nodes) {
      Object.assign(node, { labels: (labels.get(node.id) ?? []).map((label) => ({ label })) });
    }
  }
  const countsByStatus = asked.has("totalCount") ? connection.countsByStatus : undefined;
  const counted = asked.has("totalCount") && countsByStatus === undefined ? await connection.totalCount() : undefined;
  const { head, count } = await headAndCount(db, userId, countsByStatus);
  const totalCount = count ?? counted;
  return {
    ...connection,
    head,
    snapshotHead: undefined,
    changeCursor: formatChangeCursor(head),
    totalCount: () => (totalCount === undefined ? connection.totalCount() : Promise.resolve(totalCount)),
  };
}

async function taskList(
  db: Parameters<typeof listTasks>[0],
  userId: string,
  args: TaskListArgs,
  context: Context,
  info: GraphQLResolveInfo,
  oneStatement: Omit<OneStatement, "labels">,
) {
  const orderBy = { field: args.orderBy?.field ?? "createdAt", direction: args.orderBy?.direction ?? "desc" } as const;
  const page = await listTasks<TaskRow>(
    db,
    {
      userId,
      status: args.filter?.status ?? "ALL",
      search: args.filter?.search,
      due: dueFilterOf(args.filter),
      priorities: args.filter?.priorities,
      labels: { anyOf: args.filter?.labels?.anyOf, allOf: args.filter?.labels?.allOf },
      orderBy,
      first: args.first,
      after: args.after,
      last: args.last,
      before: args.before,
      defaultPageSize: 20,
      maxPageSize: context.maxPageSize,
    },
    taskQuery(context, info, ["edges", "node"], orderBy.field),
    { ...oneStatement, labels: fieldNamesAt(info, ["edges", "node"]).has("labels") },
  );
  // Cursors are made only when asked for: most clients want endCursor alone.
  const edges = page.tasks.map((task) => ({
    node: task,
    get cursor() {
      return page.cursorOf(task);
    },
  }));
  const [first, last] = [page.tasks[0], page.tasks.at(-1)];
  return {
    edges,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      get startCursor() {
        return first === undefined ? null : page.cursorOf(first);
      },
      get endCursor() {
        return last === undefined ? null : page.cursorOf(last);
      },
    },
    totalCount: page.totalCount,
    countsByStatus: page.countsByStatus,
    head: page.head,
  };
}

type TaskRow = Awaited<ReturnType<typeof findTask>> & object;

function dueFilterOf(filter: TaskListArgs["filter"]) {
  if (!filter) return undefined;
  return {
    timeZone: filter.timeZone ?? "UTC",
    on: filter.dueOn,
    after: filter.dueAfter,
    before: filter.dueBefore,
    overdue: filter.overdue,
    hasDue: filter.hasDueDate,
  };
}

/** The select/include Prisma needs for the fields the client asked for (owner included: no N+1). */
function taskQuery(context: Context, info: GraphQLResolveInfo, path: string[], keyField?: TaskOrderField): TaskQuery {
  return queryFromInfo({
    context,
    info,
    path,
    typeName: "Task",
    ...(keyField ? { select: { id: true, [keyField]: true, ...columnsFor(info, path) } } : {}),
  }) as TaskQuery;
}

/** The columns of `plainColumns` that the fields asked for at `path` read. */
function columnsFor(info: GraphQLResolveInfo, path: string[]): Record<string, true> {
  const fields = fieldNamesAt(info, path);
  const wanted = (...names: string[]) => names.some((name) => fields.has(name));
  return {
    ...(wanted("dueDate", "dueAt") ? { dueAt: plainColumns.dueAt, dueAllDay: plainColumns.dueAllDay } : {}),
    ...(wanted("priority") ? { priority: plainColumns.priority } : {}),
    ...(wanted("labels") ? { labelCount: plainColumns.labelCount } : {}),
  };
}

/** The names of the fields selected at `path` below the current field, through fragments. */
function fieldNamesAt(info: GraphQLResolveInfo, path: string[]): Set<string> {
  let level: readonly SelectionNode[] = info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []);
  for (const step of [...path, ""]) {
    const next: SelectionNode[] = [];
    const names = new Set<string>();
    const visit = (selections: readonly SelectionNode[]) => {
      for (const selection of selections) {
        if (selection.kind === Kind.FIELD) {
          names.add(selection.name.value);
          if (selection.name.value === step) next.push(...(selection.selectionSet?.selections ?? []));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          visit(selection.selectionSet.selections);
        } else {
          visit(info.fragments[selection.name.value]?.selectionSet.selections ?? []);
        }
      }
    };
    visit(level);
    if (step === "") return names;
    level = next;
  }
  return new Set();
}

/**
 * Columns that fields read from the row without declaring a `select`: one
 * per field per row would cost Pothos a selection lookup each (9 % of a
 * 50-task REST list's CPU). A list loads those its selection reads.
 */
const plainColumns = {
  dueAt: true,
  dueAllDay: true,
  priority: true,
  labelCount: true,
} as const satisfies Prisma.TaskSelect;

builder.queryFields((t) => ({
  task: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    nullable: true,
    description: "One of the caller's tasks by id, or null if the caller has no such task.",
    args: { id: t.arg.id({ required: true, validate: taskId }) },
    resolve: (_query, _root, args, context, info) =>
      findTask(context.prisma, context.viewer.id, String(args.id), { labels: fieldNamesAt(info, []).has("labels") }),
  }),
  tasks: t.withAuth({ loggedIn: true }).field({
    type: TaskConnection,
    description: taskListDescription,
    args: taskListArgs(t.arg),
    resolve: (_root, args, context, info) => resolveTaskList(context.viewer.id, args, context, info),
  }),
}));

// --- Mutations --------------------------------------------------------------

const DeleteTaskPayload = builder.objectRef<{ deletedTaskId: string }>("DeleteTaskPayload").implement({
  description: "What a deletion did.",
  fields: (t) => ({
    deletedTaskId: t.exposeID("deletedTaskId", { description: "The id of the task that no longer exists." }),
  }),
});

const expectedVersionArg = (t: Args) =>
  t.int({
    description: "If given, act only while the task is still at this version (else CONFLICT).",
    validate: version,
  });

builder.mutationFields((t) => ({
  createTask: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    description:
      "Adds a task for the caller. Send an `Idempotency-Key` header to make retries safe: the same key with the same input returns the first result (for 24 hours) instead of adding another task; with another input it is refused (IDEMPOTENCY_KEY_REUSED).",
    args: { input: t.arg({ type: CreateTaskInput, required: true }) },
    resolve: (query, _root, { input }, context) => {
      const fields = {
        title: input.title,
        description: emptyToNull(input.description) ?? null,
        due: input.due ? dueOf(input.due) : null,
        priority: input.priority ?? taskPriorities.NONE,
        labels: input.labels ?? [],
      };
      return context.idempotencyKey === null
        ? createTask(context.prisma, context.viewer.id, fields, query)
        : createTaskOnce(context.prisma, context.viewer.id, fields, {
            key: context.idempotencyKey,
            ttlMs: context.idempotencyTtlMs,
          });
    },
  }),

  updateTask: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    description: "Changes some fields of a task, in one step that also raises its version.",
    args: {
      id: t.arg.id({ required: true, validate: taskId }),
      input: t.arg({ type: UpdateTaskInput, required: true }),
    },
    resolve: (_query, _root, { id, input }, context) =>
      updateTask(
        context.prisma,
        context.viewer.id,
        String(id),
        {
          title: input.title ?? undefined,
          description: emptyToNull(input.description),
          isCompleted: input.isCompleted ?? undefined,
          due: input.due === undefined ? undefined : input.due === null ? null : dueOf(input.due),
          priority: input.priority ?? undefined,
          labels: input.labels ?? undefined,
        },
        input.expectedVersion,
      ),
  }),

  setTaskCompleted: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    description: "Completes or reopens a task. Completing a completed task keeps its `completedAt`.",
    args: {
      id: t.arg.id({ required: true, validate: taskId }),
      completed: t.arg.boolean({ required: true }),
      expectedVersion: expectedVersionArg(t.arg),
    },
    resolve: (_query, _root, { id, completed, expectedVersion }, context) =>
      updateTask(context.prisma, context.viewer.id, String(id), { isCompleted: completed }, expectedVersion),
  }),

  toggleTaskCompleted: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    description: "Completes an open task or reopens a completed one, atomically.",
    args: {
      id: t.arg.id({ required: true, validate: taskId }),
      expectedVersion: expectedVersionArg(t.arg),
    },
    resolve: (_query, _root, { id, expectedVersion }, context) =>
      toggleTask(context.prisma, context.viewer.id, String(id), expectedVersion),
  }),

  addTaskLabels: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    description: "Puts labels on a task by name, keeping the ones it has. A new name makes a label.",
    args: {
      id: t.arg.id({ required: true, validate: taskId }),
      names: t.arg.stringList({ required: true, validate: labelNames(maxLabelsPerTask) }),
      expectedVersion: expectedVersionArg(t.arg),
    },
    resolve: (_query, _root, { id, names, expectedVersion }, context) =>
      addTaskLabels(context.prisma, context.viewer.id, String(id), names, expectedVersion),
  }),

  removeTaskLabels: t.withAuth({ loggedIn: true }).prismaField({
    type: Task,
    description: "Takes labels off a task by name; names it does not carry are ignored. The labels themselves stay.",
    args: {
      id: t.arg.id({ required: true, validate: taskId }),
      names: t.arg.stringList({ required: true, validate: labelNames(maxLabelsPerTask) }),
      expectedVersion: expectedVersionArg(t.arg),
    },
    resolve: (_query, _root, { id, names, expectedVersion }, context) =>
      removeTaskLabels(context.prisma, context.viewer.id, String(id), names, expectedVersion),
  }),

  deleteTask: t.withAuth({ loggedIn: true }).field({
    type: DeleteTaskPayload,
    description: "Deletes a task for good.",
    args: {
      id: t.arg.id({ required: true, validate: taskId }),
      expectedVersion: expectedVersionArg(t.arg),
    },
    resolve: async (_root, { id, expectedVersion }, context) => {
      const deleted = await deleteTask(context.prisma, context.viewer.id, String(id), expectedVersion);
      return { deletedTaskId: deleted.id };
    },
  }),
}));
