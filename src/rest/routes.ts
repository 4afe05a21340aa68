import { Hono, type Context as HonoContext } from "hono";
import type { Context, CreateContext } from "../context.js";
import type { RestTaskFieldsFragment } from "../gql/graphql.js";
import { toClientError } from "../graphql.js";
import type { Logger } from "../logger.js";
import {
  CreateTask,
  DeleteTask,
  GetTask,
  ListTasks,
  SetTaskCompleted,
  ToggleTaskCompleted,
  UpdateTask,
} from "./operations.js";
import { createOperationRunner, fromGraphQLError, OperationError } from "./run-operation.js";

/**
 * The six legacy routes of the original plan, as a transport over the
 * GraphQL operations in ./operations.ts. This file parses paths, queries and
 * bodies, runs an operation, and shapes the JSON: it never touches the
 * database, so REST and GraphQL cannot disagree.
 */

/** REST lists may be longer than GraphQL pages: one call can hold a user's 1000 tasks. */
export const restMaxPageSize = 1000;
const restDefaultPageSize = 100;

/** Every REST error, with its HTTP status: the one mapping. */
const statusOf: Record<string, number> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PRECONDITION_FAILED: 412,
  IDEMPOTENCY_KEY_REUSED: 422,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  UNSUPPORTED_MEDIA_TYPE: 415,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
};

export function restError(
  code: keyof typeof statusOf | string,
  message: string,
  details: { field: string; message: string }[] = [],
  headers: Record<string, string> = {},
): OperationError {
  return new OperationError(code, message, details, headers);
}

/** The task as the original plan's clients know it: snake_case, with its owner. */
function taskJson(task: RestTaskFieldsFragment, userId: string) {
  return {
    id: task.id,
    user_id: userId,
    title: task.title,
    description: task.description,
    is_completed: task.isCompleted,
    completed_at: task.completedAt,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
    version: task.version,
  };
}

const etagOf = (task: { version: number }) => `"${task.version}"`;

const sortOrders = {
  created_at: { field: "CREATED_AT", direction: "ASC" },
  "-created_at": { field: "CREATED_AT", direction: "DESC" },
  updated_at: { field: "UPDATED_AT", direction: "ASC" },
  "-updated_at": { field: "UPDATED_AT", direction: "DESC" },
  title: { field: "TITLE", direction: "ASC" },
  "-title": { field: "TITLE", direction: "DESC" },
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
    let context: Context;
    try {
      context = await createContext(c.req.raw, restMaxPageSize);
    } catch (error) {
      throw fromGraphQLError(toClientError(error, logger));
    }
    const { viewer } = context;
    if (viewer === null) {
      throw restError("UNAUTHENTICATED", "A valid bearer token is required.", [], {
        "WWW-Authenticate": 'Bearer realm="tasks-api"',
      });
    }
    if (viewer.id !== c.req.param("userId")) {
      throw restError("FORBIDDEN", "The user id in the path is not the user of the token.");
    }
    return { ...context, viewer };
  }

  api.get("/:userId/tasks", async (c) => {
    const context = await authorize(c);
    const query = c.req.query();
    const problems: { field: string; message: string }[] = [];

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
    const [problem] = problems;
    if (problem) throw restError("BAD_USER_INPUT", `${problem.field}: ${problem.message}`, problems);

    const { tasks } = await run(
      ListTasks,
      {
        first: limit,
        after: query.cursor ?? null,
        filter: { status, search: query.q ?? null },
        orderBy: sort,
      },
      context,
    ).catch(renameField({ after: "cursor", first: "limit", "filter.search": "q" }));
    const data = tasks.edges.map((edge) => taskJson(edge.node, context.viewer.id));
    return c.json({
      data,
      meta: {
        total: tasks.totalCount,
        count: data.length,
        limit,
        next_cursor: tasks.pageInfo.hasNextPage ? tasks.pageInfo.endCursor : null,
      },
    });
  });

  api.post("/:userId/tasks", async (c) => {
    const context = await authorize(c);
    const body = await jsonBody(c, "required");
    const input = {
      title: field(body, "title", "string", true),
      description: field(body, "description", "string-or-null", false),
    };
    const { createTask } = await run(CreateTask, { input }, context).catch(renameField({}));
    const task = taskJson(createTask, context.viewer.id);
    const location = `/api/${encodeURIComponent(context.viewer.id)}/tasks/${task.id}`;
    return c.json({ data: task, meta: {} }, 201, { Location: location, ETag: etagOf(task) });
  });

  api.get("/:userId/tasks/:id", async (c) => {
    const context = await authorize(c);
    const { task } = await run(GetTask, { id: c.req.param("id") }, context).catch(renameField({}));
    if (task === null) throw restError("NOT_FOUND", "Task not found.");
    return c.json({ data: taskJson(task, context.viewer.id), meta: {} }, 200, { ETag: etagOf(task) });
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
      expectedVersion,
    };
    const { updateTask } = await run(UpdateTask, { id: c.req.param("id"), input }, context).catch(
      renameField({}, expectedVersion),
    );
    return c.json({ data: taskJson(updateTask, context.viewer.id), meta: {} }, 200, { ETag: etagOf(updateTask) });
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
    return c.json({ data: taskJson(task, context.viewer.id), meta: {} }, 200, { ETag: etagOf(task) });
  });

  // Known paths, other methods: 405 with what is allowed.
  const allow = (methods: string) => (c: HonoContext) => {
    throw restError("METHOD_NOT_ALLOWED", `${c.req.method} is not allowed here. Allowed: ${methods}.`, [], {
      Allow: methods,
    });
  };
  api.all("/:userId/tasks", allow("GET, POST"));
  api.all("/:userId/tasks/:id", allow("GET, PUT, DELETE"));
  api.all("/:userId/tasks/:id/complete", allow("PATCH"));
  api.all("*", (c) => {
    throw restError("NOT_FOUND", `No route for ${c.req.method} ${c.req.path}.`);
  });

  api.onError((error, c) => {
    const known = error instanceof OperationError ? error : undefined;
    if (!known) logger.error({ err: error, path: c.req.path }, "unexpected REST error");
    const failure = known ?? restError("INTERNAL_SERVER_ERROR", "Unexpected error.");
    const status = statusOf[failure.code] ?? 500;
    const body = {
      error: {
        code: failure.code,
        message: status === 500 ? "Unexpected error." : failure.message,
        ...(failure.details.length > 0 ? { details: failure.details } : {}),
      },
    };
    return c.json(body, status as 400, failure.headers);
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
    throw restError("BAD_USER_INPUT", "A JSON body is required.", [{ field: "body", message: "Missing." }]);
  }
  const type = c.req.header("content-type") ?? "";
  if (!/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
    throw restError("UNSUPPORTED_MEDIA_TYPE", "The body must be JSON, sent with Content-Type: application/json.");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw restError("BAD_USER_INPUT", "The body is not valid JSON.", [{ field: "body", message: "Malformed JSON." }]);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw restError("BAD_USER_INPUT", "The body must be a JSON object.", [
      { field: "body", message: "Not an object." },
    ]);
  }
  return parsed as Json;
}

function field(body: Json, name: string, type: "string", required: true): string;
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
    throw restError("BAD_USER_INPUT", `${name}: Required.`, [{ field: name, message: "Required." }]);
  }
  const ok =
    type === "boolean"
      ? typeof value === "boolean"
      : typeof value === "string" || (type === "string-or-null" && value === null);
  if (!ok) {
    const expected = type === "boolean" ? "true or false" : type === "string" ? "a string" : "a string or null";
    throw restError("BAD_USER_INPUT", `${name}: Must be ${expected}.`, [
      { field: name, message: `Must be ${expected}.` },
    ]);
  }
  return value as string | boolean | null;
}

/**
 * `If-Match: "<version>"` (or `*`, or absent) as an expected version. A tag
 * that is not one of ours can never match, so it fails the precondition.
 */
function ifMatch(c: HonoContext): number | null {
  const header = c.req.header("if-match")?.trim();
  if (header === undefined || header === "*") return null;
  // Our tags are "1", "2", ...: "0" or "01" is not one of them.
  const match = /^(?:W\/)?"([1-9]\d{0,8})"$/.exec(header);
  if (!match?.[1]) throw restError("PRECONDITION_FAILED", "If-Match does not match the task's current ETag.");
  return Number(match[1]);
}

/**
 * GraphQL names arguments differently from the REST API: say `cursor`, not
 * `after`, and `title`, not `input.title`. A CONFLICT under If-Match is a 412.
 */
function renameField(names: Record<string, string>, expectedVersion?: number | null) {
  return (error: unknown): never => {
    if (!(error instanceof OperationError)) throw error;
    const rename = (name: string) => names[name] ?? name.replace(/^input\./, "");
    const details = error.details.map((detail) => ({ ...detail, field: rename(detail.field) }));
    const [first] = details;
    if (error.code === "CONFLICT" && expectedVersion != null) {
      throw restError("PRECONDITION_FAILED", "If-Match does not match the task's current ETag.", [], error.headers);
    }
    throw restError(error.code, first ? `${first.field}: ${first.message}` : error.message, details, error.headers);
  };
}
