import { Hono, type Context as HonoContext } from "hono";
import { parseCalendarDate, parseInstant } from "../calendar.js";
import type { Context, CreateContext } from "../context.js";
import { maxChangePage } from "../db/changes.js";
import {
  AppError,
  BadUserInputError,
  type FieldProblem,
  ForbiddenError,
  MethodNotAllowedError,
  NoRouteError,
  NotFoundError,
  PreconditionFailedError,
  UnauthenticatedError,
  UnsupportedMediaTypeError,
} from "../errors.js";
import type { RestTaskFieldsFragment, TaskPriority } from "../gql/graphql.js";
import type { Logger } from "../logger.js";
import {
  CreateTask,
  DeleteTask,
  GetTask,
  ListTasks,
  SetTaskCompleted,
  TaskChanges,
  ToggleTaskCompleted,
  UpdateTask,
} from "./operations.js";
import { createOperationRunner } from "./run-operation.js";

/**
 * The six legacy routes of the original plan, as a transport over the
 * GraphQL operations in ./operations.ts. This file parses paths, queries and
 * bodies, runs an operation, and shapes the JSON: it never touches the
 * database, so REST and GraphQL cannot disagree.
 */

/** REST lists may be longer than GraphQL pages: one call can hold a user's 1000 tasks. */
export const restMaxPageSize = 1000;
const restDefaultPageSize = 100;

/** The task as the original plan's clients know it: snake_case, with the owner its row holds. */
function taskJson(task: RestTaskFieldsFragment) {
  return {
    id: task.id,
    user_id: task.ownerId,
    title: task.title,
    description: task.description,
    is_completed: task.isCompleted,
    completed_at: task.completedAt,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
    version: task.version,
    due_date: task.dueDate ?? null,
    due_at: task.dueAt ?? null,
    priority: task.priority.toLowerCase(),
    labels: task.labels.map((label) => label.name),
  };
}

/** Priorities as REST spells them. */
const priorities = {
  none: "NONE",
  low: "LOW",
  medium: "MEDIUM",
  high: "HIGH",
  urgent: "URGENT",
} as const satisfies Record<Lowercase<TaskPriority>, TaskPriority>;
const priorityNames = Object.keys(priorities).join(", ");

const etagOf = (task: { version: number }) => `"${task.version}"`;

const sortOrders = {
  created_at: { field: "CREATED_AT", direction: "ASC" },
  "-created_at": { field: "CREATED_AT", direction: "DESC" },
  updated_at: { field: "UPDATED_AT", direction: "ASC" },
  "-updated_at": { field: "UPDATED_AT", direction: "DESC" },
  title: { field: "TITLE", direction: "ASC" },
  "-title": { field: "TITLE", direction: "DESC" },
  due: { field: "DUE", direction: "ASC" },
  "-due": { field: "DUE", direction: "DESC" },
  priority: { field: "PRIORITY", direction: "ASC" },
  "-priority": { field: "PRIORITY", direction: "DESC" },
} as const;

const statuses = { all: "ALL", pending: "OPEN", completed: "COMPLETED" } as const;

/** `table[key]` for the table's own keys only: `?sort=constructor` is not a sort order. */
function own<T extends object>(table: T, key: string): T[keyof T] | undefined {
  return Object.hasOwn(table, key) ? table[key as keyof T] : undefined;
}

export function createRestRoutes({ createContext, logger }: { createContext: CreateContext; logger: Logger }) {
  const run = createOperationRunner(logger);
  const api = new Hono();

  /** 401 without a valid token, 403 when the path names another user. */
  async function authorize(c: HonoContext): Promise<Context & { viewer: NonNullable<Context["viewer"]> }> {
    const context = await createContext(c.req.raw, restMaxPageSize);
    const { viewer } = context;
    if (viewer === null) throw new UnauthenticatedError();
    if (viewer.id !== c.req.param("userId")) {
      throw new ForbiddenError("The user id in the path is not the user of the token.");
    }
    return { ...context, viewer };
  }

  api.get("/:userId/tasks", async (c) => {
    const context = await authorize(c);
    const query = c.req.query();
    const problems: FieldProblem[] = [];

    const status = own(statuses, query.status ?? "all");
    if (status === undefined) problems.push({ field: "status", message: "Must be one of all, pending, completed." });
    const sort = own(sortOrders, query.sort ?? "-created_at");
    if (sort === undefined) {
      problems.push({ field: "sort", message: `Must be one of ${Object.keys(sortOrders).join(", ")}.` });
    }
    const limit = query.limit === undefined ? restDefaultPageSize : Number(query.limit);
    if (!/^\d+$/.test(query.limit ?? "0") || !Number.isInteger(limit) || limit < 1 || limit > restMaxPageSize) {
      problems.push({ field: "limit", message: `Must be a whole number from 1 to ${restMaxPageSize}.` });
    }
    const planning = planningFilter(c, problems);
    if (problems.length > 0) throw new BadUserInputError(problems);

    const { tasks } = await run(
      ListTasks,
      {
        first: limit,
        after: query.cursor ?? null,
        filter: { status, search: query.q ?? null, ...planning },
        orderBy: sort,
      },
      context,
    ).catch(renameField(listFieldNames));
    const data = tasks.edges.map((edge) => taskJson(edge.node));
    return c.json({
      data,
      meta: {
        total: tasks.totalCount,
        count: data.length,
        limit,
        next_cursor: tasks.pageInfo.hasNextPage ? tasks.pageInfo.endCursor : null,
        change_cursor: tasks.changeCursor,
      },
    });
  });

  // Before /:id: "changes" is not a task id.
  api.get("/:userId/tasks/changes", async (c) => {
    const context = await authorize(c);
    const query = c.req.query();
    const problems: FieldProblem[] = [];
    if (query.after === undefined) {
      problems.push({ field: "after", message: "Required: a cursor, such as a list's meta.change_cursor." });
    }
    const limit = query.limit === undefined ? 100 : Number(query.limit);
    if (!/^\d+$/.test(query.limit ?? "1") || !Number.isInteger(limit) || limit < 1 || limit > maxChangePage) {
      problems.push({ field: "limit", message: `Must be a whole number from 1 to ${maxChangePage}.` });
    }
    if (problems.length > 0) throw new BadUserInputError(problems);
    const { taskChanges } = await run(TaskChanges, { after: query.after ?? "", first: limit }, context).catch(
      renameField({ first: "limit" }),
    );
    return c.json({
      data: taskChanges.events.map((event) => ({
        cursor: event.cursor,
        kind: event.kind.toLowerCase(),
        task_id: event.taskId,
        version: event.version,
        occurred_at: event.occurredAt,
        task: event.task === null || event.task === undefined ? null : taskJson(event.task),
      })),
      meta: {
        count: taskChanges.events.length,
        limit,
        next_cursor: taskChanges.endCursor,
        has_more: taskChanges.hasMore,
      },
    });
  });

  api.post("/:userId/tasks", async (c) => {
    const context = await authorize(c);
    const body = await jsonBody(c, "required");
    const input = {
      title: field(body, "title", "string", true),
      description: field(body, "description", "string-or-null", false),
      ...planningFields(body, "create"),
    };
    const { createTask } = await run(CreateTask, { input }, context).catch(renameField({}));
    const task = taskJson(createTask);
    const location = `/api/${encodeURIComponent(context.viewer.id)}/tasks/${task.id}`;
    return c.json({ data: task, meta: {} }, 201, { Location: location, ETag: etagOf(task) });
  });

  api.get("/:userId/tasks/:id", async (c) => {
    const context = await authorize(c);
    const { task } = await run(GetTask, { id: c.req.param("id") }, context).catch(renameField({}));
    if (task === null) throw new NotFoundError();
    return c.json({ data: taskJson(task), meta: {} }, 200, { ETag: etagOf(task) });
  });

  api.put("/:userId/tasks/:id", async (c) => {
    const context = await authorize(c);
    const expectedVersion = ifMatch(c);
    const body = await jsonBody(c, "required");
    const isCompleted = field(body, "is_completed", "boolean", false);
    const input = {
      title: field(body, "title", "string", true),
      // PUT replaces: a description left out is cleared.
      description: field(body, "description", "string-or-null", false) ?? null,
      ...(isCompleted === undefined ? {} : { isCompleted }),
      // Due date, priority and labels are replaced only when sent: a client
      // that does not know them leaves them as they are.
      ...planningFields(body, "replace"),
      expectedVersion,
    };
    const { updateTask } = await run(UpdateTask, { id: c.req.param("id"), input }, context).catch(
      renameField({}, expectedVersion),
    );
    return c.json({ data: taskJson(updateTask), meta: {} }, 200, { ETag: etagOf(updateTask) });
  });

  api.delete("/:userId/tasks/:id", async (c) => {
    const context = await authorize(c);
    const expectedVersion = ifMatch(c);
    await run(DeleteTask, { id: c.req.param("id"), expectedVersion }, context).catch(renameField({}, expectedVersion));
    return c.body(null, 204);
  });

  api.patch("/:userId/tasks/:id/complete", async (c) => {
    const context = await authorize(c);
    const expectedVersion = ifMatch(c);
    const body = await jsonBody(c, "optional");
    const completed = body === undefined ? undefined : field(body, "is_completed", "boolean", true);
    const id = c.req.param("id");
    // With {"is_completed": ...} it sets; with no body it toggles, as existing clients expect.
    const task =
      completed === undefined
        ? (await run(ToggleTaskCompleted, { id, expectedVersion }, context).catch(renameField({}, expectedVersion)))
            .toggleTaskCompleted
        : (
            await run(SetTaskCompleted, { id, completed, expectedVersion }, context).catch(
              renameField({}, expectedVersion),
            )
          ).setTaskCompleted;
    return c.json({ data: taskJson(task), meta: {} }, 200, { ETag: etagOf(task) });
  });

  // Known paths, other methods: 405 with what is allowed.
  const allow = (methods: string) => (c: HonoContext) => {
    throw new MethodNotAllowedError(c.req.method, methods);
  };
  api.all("/:userId/tasks", allow("GET, POST"));
  api.all("/:userId/tasks/changes", allow("GET"));
  api.all("/:userId/tasks/:id", allow("GET, PUT, DELETE"));
  api.all("/:userId/tasks/:id/complete", allow("PATCH"));
  api.all("*", (c) => {
    throw new NoRouteError(c.req.method, c.req.path);
  });

  return api;
}

type Json = Record<string, unknown>;

/**
 * The request body as a JSON object. Unknown fields are ignored (legacy
 * clients send whole task objects back), which also means `id` or `user_id`
 * in a body can never change which task or whose.
 */
async function jsonBody(c: HonoContext, need: "required"): Promise<Json>;
async function jsonBody(c: HonoContext, need: "optional"): Promise<Json | undefined>;
async function jsonBody(c: HonoContext, need: "required" | "optional"): Promise<Json | undefined> {
  const text = await c.req.text();
  if (text.trim() === "") {
    if (need === "optional") return undefined;
    throw new AppError("BAD_USER_INPUT", "A JSON body is required.", [{ field: "body", message: "Missing." }]);
  }
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw new UnsupportedMediaTypeError("The body must be JSON, sent with Content-Type: application/json.");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AppError("BAD_USER_INPUT", "The body is not valid JSON.", [
      { field: "body", message: "Malformed JSON." },
    ]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new AppError("BAD_USER_INPUT", "The body must be a JSON object.", [
      { field: "body", message: "Not an object." },
    ]);
  }
  return parsed as Json;
}

function field(body: Json, name: string, type: "string", required: true): string;
function field(body: Json, name: string, type: "string", required: false): string | undefined;
function field(body: Json, name: string, type: "string-or-null", required: false): string | null | undefined;
function field(body: Json, name: string, type: "boolean", required: true): boolean;
function field(body: Json, name: string, type: "boolean", required: false): boolean | undefined;
function field(
  body: Json,
  name: string,
  type: "string" | "string-or-null" | "boolean",
  required: boolean,
): string | boolean | null | undefined {
  const value = body[name];
  if (value === undefined) {
    if (!required) return undefined;
    throw new BadUserInputError([{ field: name, message: "Required." }]);
  }
  const ok =
    type === "boolean"
      ? typeof value === "boolean"
      : typeof value === "string" || (type === "string-or-null" && value === null);
  if (!ok) {
    const expected = type === "boolean" ? "true or false" : type === "string" ? "a string" : "a string or null";
    throw new BadUserInputError([{ field: name, message: `Must be ${expected}.` }]);
  }
  return value as string | boolean | null;
}

/** Due date, priority and labels from a create or PUT body; only those sent. */
function planningFields(body: Json, mode: "create" | "replace") {
  const fields: {
    due?: { date: string } | { at: string } | null;
    priority?: TaskPriority;
    labels?: string[];
  } = {};
  const dueDate = field(body, "due_date", "string-or-null", false);
  const dueAt = field(body, "due_at", "string-or-null", false);
  if (dueDate != null && dueAt != null) {
    throw new BadUserInputError([
      { field: "due_at", message: "Give due_date (all day) or due_at (an instant), not both." },
    ]);
  }
  if (dueDate != null) {
    if (parseCalendarDate(dueDate) === undefined) {
      throw new BadUserInputError([{ field: "due_date", message: "Must be a calendar date as YYYY-MM-DD." }]);
    }
    fields.due = { date: dueDate };
  } else if (dueAt != null) {
    if (parseInstant(dueAt) === undefined) {
      throw new BadUserInputError([
        {
          field: "due_at",
          message: "Must be an ISO-8601 date and time with an offset, e.g. 2026-12-24T17:00:00+01:00.",
        },
      ]);
    }
    fields.due = { at: dueAt };
  } else if (mode === "replace" && (dueDate === null || dueAt === null)) {
    // null clears the due date; leaving both out keeps it.
    fields.due = null;
  }
  const priority = field(body, "priority", "string", false);
  if (priority !== undefined) {
    const value = own(priorities, priority.toLowerCase());
    if (value === undefined)
      throw new BadUserInputError([{ field: "priority", message: `Must be one of ${priorityNames}.` }]);
    fields.priority = value;
  }
  const labels = body.labels;
  if (labels !== undefined) {
    if (!Array.isArray(labels) || !labels.every((label) => typeof label === "string")) {
      throw new BadUserInputError([{ field: "labels", message: "Must be an array of label names." }]);
    }
    fields.labels = labels;
  }
  return fields;
}

/** The list's query parameters for due dates, priorities and labels, as a GraphQL filter. */
function planningFilter(c: HonoContext, problems: FieldProblem[]) {
  const query = c.req.query();
  const filter: {
    timeZone?: string;
    dueOn?: string;
    dueAfter?: string;
    dueBefore?: string;
    overdue?: boolean;
    hasDueDate?: boolean;
    priorities?: TaskPriority[];
    labels?: { anyOf?: string[]; allOf?: string[] };
  } = {};
  if (query.tz !== undefined) filter.timeZone = query.tz;
  if (query.due_on !== undefined) {
    if (parseCalendarDate(query.due_on) === undefined) {
      problems.push({ field: "due_on", message: "Must be a calendar date as YYYY-MM-DD." });
    } else filter.dueOn = query.due_on;
  }
  for (const [name, key] of [
    ["due_after", "dueAfter"],
    ["due_before", "dueBefore"],
  ] as const) {
    const value = query[name];
    if (value === undefined) continue;
    if (parseInstant(value) === undefined) {
      problems.push({
        field: name,
        message: "Must be an ISO-8601 date and time with an offset, e.g. 2026-12-24T00:00:00Z.",
      });
    } else filter[key] = value;
  }
  for (const [name, key] of [
    ["overdue", "overdue"],
    ["has_due", "hasDueDate"],
  ] as const) {
    const value = query[name];
    if (value === undefined) continue;
    if (value !== "true" && value !== "false") problems.push({ field: name, message: "Must be true or false." });
    else filter[key] = value === "true";
  }
  // An empty list (`?priority=`) filters nothing, as if it were left out.
  const names = listParameter(c, "priority");
  if (names.length > 0) {
    const values = names.map((name) => own(priorities, name.toLowerCase()));
    if (values.some((value) => value === undefined)) {
      problems.push({ field: "priority", message: `Must be a comma-separated list of ${priorityNames}.` });
    } else filter.priorities = values.filter((value) => value !== undefined);
  }
  const [anyOf, allOf] = [listParameter(c, "labels"), listParameter(c, "labels_all")];
  if (anyOf.length > 0 || allOf.length > 0) {
    filter.labels = { ...(anyOf.length > 0 ? { anyOf } : {}), ...(allOf.length > 0 ? { allOf } : {}) };
  }
  return filter;
}

/** A list parameter: comma-separated, repeatable (`?labels=a,b&labels=c`), blanks dropped. */
function listParameter(c: HonoContext, name: string): string[] {
  return (c.req.queries(name) ?? [])
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter((value) => value !== "");
}

/** The list's GraphQL argument names as its query parameters. */
const listFieldNames = {
  after: "cursor",
  first: "limit",
  "filter.search": "q",
  "filter.timeZone": "tz",
  "filter.labels.anyOf": "labels",
  "filter.labels.allOf": "labels_all",
};

/**
 * `If-Match: "<version>"` (or `*`, or absent) as an expected version. A tag
 * that is not one of ours can never match, so it fails the precondition.
 */
function ifMatch(c: HonoContext): number | null {
  const header = c.req.header("if-match")?.trim();
  if (header === undefined || header === "*") return null;
  // Our tags are "1", "2", ...: "0" or "01" is not one of them.
  const match = /^(?:W\/)?"([1-9]\d{0,8})"$/.exec(header);
  if (!match?.[1]) throw new PreconditionFailedError();
  return Number(match[1]);
}

/**
 * GraphQL names arguments differently from the REST API: say `cursor`, not
 * `after`, and `title`, not `input.title`. A CONFLICT under If-Match is a 412.
 */
function renameField(names: Record<string, string>, expectedVersion?: number | null) {
  return (error: unknown): never => {
    if (!(error instanceof AppError)) throw error;
    if (error.code === "CONFLICT" && expectedVersion != null) throw new PreconditionFailedError();
    if (error.code !== "BAD_USER_INPUT" || error.details.length === 0) throw error;
    const rename = (name: string) =>
      names[name] ??
      Object.entries(names).find(([graphqlName]) => name.startsWith(`${graphqlName}.`))?.[1] ??
      name.replace(/^input\./, "");
    throw new BadUserInputError(error.details.map((detail) => ({ ...detail, field: rename(detail.field) })));
  };
}
