/**
 * The REST contract, served at /api/openapi.json. The test suite validates
 * every REST response it receives against this document, so it cannot drift
 * from what the routes do.
 */

const error = (code: string, example: string) => ({
  description: example,
  content: {
    "application/json": {
      schema: { $ref: "#/components/schemas/Error" },
      example: { error: { code, message: example } },
    },
  },
});

const userIdParam = {
  name: "user_id",
  in: "path",
  required: true,
  description: "The caller's user id: the `sub` of the bearer token. Any other value is refused (403).",
  schema: { type: "string", minLength: 1 },
} as const;

const taskIdParam = {
  name: "id",
  in: "path",
  required: true,
  description: "The task id (a UUID). Another user's task id behaves exactly like a missing one (404).",
  schema: { type: "string" },
} as const;

const ifMatchParam = {
  name: "If-Match",
  in: "header",
  required: false,
  description:
    'The ETag of the version you last read, e.g. "3". If the task has changed since, nothing is written (412).',
  schema: { type: "string" },
} as const;

const etagHeader = { ETag: { description: "The task's version, as an entity tag.", schema: { type: "string" } } };

const taskResponse = (description: string) => ({
  description,
  headers: etagHeader,
  content: { "application/json": { schema: { $ref: "#/components/schemas/TaskEnvelope" } } },
});

const commonErrors = {
  "401": {
    ...error("UNAUTHENTICATED", "A valid bearer token is required."),
    headers: { "WWW-Authenticate": { schema: { type: "string" } } },
  },
  "403": error("FORBIDDEN", "The user id in the path is not the user of the token."),
  "405": {
    ...error("METHOD_NOT_ALLOWED", "DELETE is not allowed here. Allowed: GET, POST."),
    headers: { Allow: { schema: { type: "string" } } },
  },
  "413": error("PAYLOAD_TOO_LARGE", "The request body is larger than 1048576 bytes."),
  "429": {
    ...error("RATE_LIMITED", "Too many requests. Try again in 12 s."),
    headers: { "Retry-After": { schema: { type: "string" } } },
  },
  "500": error("INTERNAL_SERVER_ERROR", "Unexpected error."),
  "503": {
    ...error("SERVICE_UNAVAILABLE", "The service is temporarily unavailable. Try again shortly."),
    headers: { "Retry-After": { schema: { type: "string" } } },
  },
};

const bodyErrors = {
  "400": error("BAD_USER_INPUT", "title: Must not be empty."),
  "413": error("PAYLOAD_TOO_LARGE", "The request body is larger than 1048576 bytes."),
  "415": error("UNSUPPORTED_MEDIA_TYPE", "The body must be JSON, sent with Content-Type: application/json."),
};

export const openApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "tasks-api REST",
    version: "1.0.0",
    description:
      "The REST compatibility layer of tasks-api: the original plan's six routes, run on the same resolvers as the GraphQL API at /graphql. Every route needs `Authorization: Bearer <token>`, and `{user_id}` must be the token's user. Unknown body fields are ignored.",
  },
  servers: [{ url: "/" }],
  security: [{ bearerAuth: [] }],
  tags: [{ name: "tasks" }],
  paths: {
    "/api/{user_id}/tasks": {
      parameters: [userIdParam],
      get: {
        operationId: "listTasks",
        tags: ["tasks"],
        summary: "List the caller's tasks",
        parameters: [
          {
            name: "status",
            in: "query",
            schema: { type: "string", enum: ["all", "pending", "completed"], default: "all" },
          },
          {
            name: "sort",
            in: "query",
            description:
              "A field, descending with a leading minus. Ties are broken by id. By `due`, tasks without a due date come last either way; `-priority` puts the most urgent first.",
            schema: {
              type: "string",
              enum: [
                "created_at",
                "-created_at",
                "updated_at",
                "-updated_at",
                "title",
                "-title",
                "due",
                "-due",
                "priority",
                "-priority",
              ],
              default: "-created_at",
            },
          },
          {
            name: "q",
            in: "query",
            description: "Case-insensitive text to find in the title or description.",
            schema: { type: "string", maxLength: 200 },
          },
          {
            name: "tz",
            in: "query",
            description:
              "The IANA time zone calendar days are read in (for `due_on`, `overdue`, and all-day tasks against `due_after`/`due_before`). UTC by default.",
            schema: { type: "string", default: "UTC", examples: ["Europe/Berlin"] },
          },
          {
            name: "due_on",
            in: "query",
            description: "Due on this day in `tz`: all-day tasks of the date, timed tasks within it.",
            schema: { type: "string", format: "date" },
          },
          {
            name: "due_after",
            in: "query",
            description: "Due at or after this instant (an all-day task whose day has not ended by then counts).",
            schema: { type: "string", format: "date-time" },
          },
          {
            name: "due_before",
            in: "query",
            description: "Due before this instant (an all-day task whose day has begun by then counts).",
            schema: { type: "string", format: "date-time" },
          },
          {
            name: "overdue",
            in: "query",
            description:
              "true: open tasks past due (timed: after the instant; all-day: once the day is over in `tz`); false: all others.",
            schema: { type: "string", enum: ["true", "false"] },
          },
          {
            name: "has_due",
            in: "query",
            description: "true: tasks with a due date; false: tasks without one.",
            schema: { type: "string", enum: ["true", "false"] },
          },
          {
            name: "priority",
            in: "query",
            description: "Any of these priorities, comma-separated: `?priority=high,urgent`.",
            schema: { type: "string", examples: ["high,urgent"] },
          },
          {
            name: "labels",
            in: "query",
            description: "Carrying any of these labels (names, ignoring case, comma-separated or repeated).",
            schema: { type: "string", examples: ["home,errands"] },
          },
          {
            name: "labels_all",
            in: "query",
            description: "Carrying every one of these labels (names, ignoring case, comma-separated or repeated).",
            schema: { type: "string" },
          },
          {
            name: "limit",
            in: "query",
            schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
          {
            name: "cursor",
            in: "query",
            description: "`meta.next_cursor` of the previous page.",
            schema: { type: "string" },
          },
        ],
        responses: {
          "200": {
            description: "A page of tasks.",
            content: { "application/json": { schema: { $ref: "#/components/schemas/TaskList" } } },
          },
          "400": error("BAD_USER_INPUT", "limit: Must be a whole number from 1 to 1000."),
          ...commonErrors,
        },
      },
      post: {
        operationId: "createTask",
        tags: ["tasks"],
        summary: "Create a task",
        description:
          "With an `Idempotency-Key` header, a retry with the same key and body returns the first result (201, for 24 hours) and creates nothing; the same key with another body is a 422.",
        parameters: [
          {
            name: "Idempotency-Key",
            in: "header",
            required: false,
            description: "Any unique string of 1 to 255 printable ASCII characters, such as a UUID.",
            schema: { type: "string", minLength: 1, maxLength: 255 },
          },
        ],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/CreateTask" } } },
        },
        responses: {
          "201": {
            ...taskResponse("The task, created."),
            headers: {
              ...etagHeader,
              Location: { description: "The new task's URL.", schema: { type: "string" } },
            },
          },
          ...bodyErrors,
          "422": error(
            "IDEMPOTENCY_KEY_REUSED",
            "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
          ),
          ...commonErrors,
        },
      },
    },
    "/api/{user_id}/tasks/changes": {
      parameters: [userIdParam],
      get: {
        operationId: "listTaskChanges",
        tags: ["tasks"],
        summary: "What changed after a cursor",
        description:
          "The caller's change log after `after`, oldest first: every create, update (completion and labels included) and delete, through REST or GraphQL. Start from a list's `meta.change_cursor`. Live, the same log streams as the GraphQL subscription `taskEvents` (SSE or WebSocket on /graphql).",
        parameters: [
          {
            name: "after",
            in: "query",
            required: true,
            description: "A cursor: a list's `meta.change_cursor`, or `meta.next_cursor` of the previous page.",
            schema: { type: "string", pattern: "^[0-9]+$" },
          },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 500, default: 100 } },
        ],
        responses: {
          "200": {
            description: "A page of changes.",
            content: { "application/json": { schema: { $ref: "#/components/schemas/TaskChangeList" } } },
          },
          "400": error(
            "BAD_USER_INPUT",
            "after: Not a change cursor: use one from a list or a change feed (e.g. changeCursor).",
          ),
          "410": error(
            "CURSOR_EXPIRED",
            "This change cursor is older than the change log keeps: list the tasks afresh and follow changes from that list's changeCursor.",
          ),
          ...commonErrors,
        },
      },
    },
    "/api/{user_id}/tasks/{id}": {
      parameters: [userIdParam, taskIdParam],
      get: {
        operationId: "getTask",
        tags: ["tasks"],
        summary: "One task",
        responses: {
          "200": taskResponse("The task."),
          "400": error("BAD_USER_INPUT", "id: Must be a task id (a UUID)."),
          "404": error("NOT_FOUND", "Task not found."),
          ...commonErrors,
        },
      },
      put: {
        operationId: "replaceTask",
        tags: ["tasks"],
        summary: "Replace a task's title and description; change its completion, due date, priority and labels if sent",
        description:
          "Replaces `title` and `description` (a description left out is cleared). Every other field is changed only when sent: `is_completed`, `due_date`/`due_at` (null clears the due date), `priority` and `labels` left out are kept, so a client that knows only the original fields never erases them.",
        parameters: [ifMatchParam],
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/ReplaceTask" } } },
        },
        responses: {
          "200": taskResponse("The task, changed."),
          ...bodyErrors,
          "404": error("NOT_FOUND", "Task not found."),
          "412": error("PRECONDITION_FAILED", "If-Match does not match the task's current ETag."),
          ...commonErrors,
        },
      },
      delete: {
        operationId: "deleteTask",
        tags: ["tasks"],
        summary: "Delete a task",
        parameters: [ifMatchParam],
        responses: {
          "204": { description: "Deleted." },
          "400": error("BAD_USER_INPUT", "id: Must be a task id (a UUID)."),
          "404": error("NOT_FOUND", "Task not found."),
          "412": error("PRECONDITION_FAILED", "If-Match does not match the task's current ETag."),
          ...commonErrors,
        },
      },
    },
    "/api/{user_id}/tasks/{id}/complete": {
      parameters: [userIdParam, taskIdParam],
      patch: {
        operationId: "completeTask",
        tags: ["tasks"],
        summary: "Set or toggle completion",
        description:
          'With `{"is_completed": true|false}` sets it (completing a completed task keeps its `completed_at`); with no body toggles it.',
        parameters: [ifMatchParam],
        requestBody: {
          required: false,
          content: { "application/json": { schema: { $ref: "#/components/schemas/SetCompletion" } } },
        },
        responses: {
          "200": taskResponse("The task, changed."),
          ...bodyErrors,
          "404": error("NOT_FOUND", "Task not found."),
          "412": error("PRECONDITION_FAILED", "If-Match does not match the task's current ETag."),
          ...commonErrors,
        },
      },
    },
  },
  components: {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "A JWT from the auth service (Better Auth): EdDSA via its JWKS, or HS256 with the shared secret.",
      },
    },
    schemas: {
      Task: {
        type: "object",
        additionalProperties: false,
        required: [
          "id",
          "user_id",
          "title",
          "description",
          "is_completed",
          "completed_at",
          "created_at",
          "updated_at",
          "version",
          "due_date",
          "due_at",
          "priority",
          "labels",
        ],
        properties: {
          id: { type: "string", format: "uuid" },
          user_id: { type: "string" },
          title: { type: "string", minLength: 1, maxLength: 200 },
          description: { type: ["string", "null"], maxLength: 1000 },
          is_completed: { type: "boolean" },
          completed_at: { type: ["string", "null"], format: "date-time" },
          created_at: { type: "string", format: "date-time" },
          updated_at: { type: "string", format: "date-time" },
          version: { type: "integer", minimum: 1 },
          due_date: {
            type: ["string", "null"],
            format: "date",
            description: "The day an all-day task is due; null for a timed task or none.",
          },
          due_at: {
            type: ["string", "null"],
            format: "date-time",
            description: "The instant a timed task is due; null for an all-day task or none.",
          },
          priority: { $ref: "#/components/schemas/Priority" },
          labels: {
            type: "array",
            items: { type: "string" },
            maxItems: 20,
            description: "Label names, in order of name.",
          },
        },
      },
      Priority: { type: "string", enum: ["none", "low", "medium", "high", "urgent"], default: "none" },
      DueDate: {
        type: ["string", "null"],
        format: "date",
        description: "Due all day on this date (YYYY-MM-DD). Give this or `due_at`, not both.",
      },
      DueAt: {
        type: ["string", "null"],
        format: "date-time",
        description:
          "Due at this instant, with an offset (2026-12-24T17:00:00+01:00). Give this or `due_date`, not both.",
      },
      LabelNames: {
        type: "array",
        maxItems: 20,
        items: { type: "string", minLength: 1, maxLength: 50, pattern: "^[^,]*$" },
        description: "Label names (ignoring case; a new name makes a label). Labels are managed through GraphQL.",
      },
      TaskEnvelope: {
        type: "object",
        additionalProperties: false,
        required: ["data", "meta"],
        properties: {
          data: { $ref: "#/components/schemas/Task" },
          meta: { type: "object", additionalProperties: false },
        },
      },
      TaskList: {
        type: "object",
        additionalProperties: false,
        required: ["data", "meta"],
        properties: {
          data: { type: "array", items: { $ref: "#/components/schemas/Task" } },
          meta: {
            type: "object",
            additionalProperties: false,
            required: ["total", "count", "limit", "next_cursor", "change_cursor"],
            properties: {
              total: { type: "integer", minimum: 0, description: "Tasks matching the filter, across all pages." },
              change_cursor: {
                type: "string",
                pattern: "^[0-9]+$",
                description:
                  "The change log's cursor as of this page's read (the same snapshot): pass it as `after` to GET /api/{user_id}/tasks/changes to keep the list current with nothing missed.",
              },
              count: { type: "integer", minimum: 0, description: "Tasks in this page." },
              limit: { type: "integer", minimum: 1, maximum: 1000 },
              next_cursor: {
                type: ["string", "null"],
                description: "Pass as `cursor` for the next page; null on the last.",
              },
            },
          },
        },
      },
      TaskChange: {
        type: "object",
        additionalProperties: false,
        required: ["cursor", "kind", "task_id", "version", "occurred_at", "task"],
        properties: {
          cursor: {
            type: "string",
            pattern: "^[0-9]+$",
            description: "Continue after this change: pass it as `after`.",
          },
          kind: { type: "string", enum: ["created", "updated", "deleted"] },
          task_id: { type: "string", format: "uuid" },
          version: {
            type: "integer",
            minimum: 1,
            description: "The task's version after the change (its last, when deleted).",
          },
          occurred_at: { type: "string", format: "date-time" },
          task: {
            description: "The whole task right after the change; null when it was deleted.",
            oneOf: [{ $ref: "#/components/schemas/Task" }, { type: "null" }],
          },
        },
      },
      TaskChangeList: {
        type: "object",
        additionalProperties: false,
        required: ["data", "meta"],
        properties: {
          data: { type: "array", items: { $ref: "#/components/schemas/TaskChange" } },
          meta: {
            type: "object",
            additionalProperties: false,
            required: ["count", "limit", "next_cursor", "has_more"],
            properties: {
              count: { type: "integer", minimum: 0 },
              limit: { type: "integer", minimum: 1, maximum: 500 },
              next_cursor: {
                type: "string",
                pattern: "^[0-9]+$",
                description: "Where to continue: the last change's cursor, or `after` when there were none.",
              },
              has_more: { type: "boolean", description: "More changes follow: ask again from `next_cursor` at once." },
            },
          },
        },
      },
      CreateTask: {
        type: "object",
        required: ["title"],
        properties: {
          title: { type: "string", minLength: 1, maxLength: 200, description: "Trimmed; 1 to 200 characters." },
          description: { type: ["string", "null"], maxLength: 1000 },
          due_date: { $ref: "#/components/schemas/DueDate" },
          due_at: { $ref: "#/components/schemas/DueAt" },
          priority: { $ref: "#/components/schemas/Priority" },
          labels: { $ref: "#/components/schemas/LabelNames" },
        },
      },
      ReplaceTask: {
        type: "object",
        required: ["title"],
        properties: {
          title: { type: "string", minLength: 1, maxLength: 200 },
          description: {
            type: ["string", "null"],
            maxLength: 1000,
            description: "Replaced: left out, it is cleared.",
          },
          is_completed: { type: "boolean", description: "Left out, it is kept." },
          due_date: { $ref: "#/components/schemas/DueDate" },
          due_at: { $ref: "#/components/schemas/DueAt" },
          priority: { $ref: "#/components/schemas/Priority" },
          labels: { $ref: "#/components/schemas/LabelNames" },
        },
        description:
          "`title` and `description` are replaced; `is_completed`, `due_date`/`due_at`, `priority` and `labels` change only when sent (null for either due field clears the due date).",
      },
      SetCompletion: {
        type: "object",
        required: ["is_completed"],
        properties: { is_completed: { type: "boolean" } },
      },
      Error: {
        type: "object",
        additionalProperties: false,
        required: ["error"],
        properties: {
          error: {
            type: "object",
            additionalProperties: false,
            required: ["code", "message"],
            properties: {
              code: {
                type: "string",
                enum: [
                  "BAD_USER_INPUT",
                  "UNAUTHENTICATED",
                  "FORBIDDEN",
                  "NOT_FOUND",
                  "METHOD_NOT_ALLOWED",
                  "PRECONDITION_FAILED",
                  "CURSOR_EXPIRED",
                  "PAYLOAD_TOO_LARGE",
                  "UNSUPPORTED_MEDIA_TYPE",
                  "RATE_LIMITED",
                  "IDEMPOTENCY_KEY_REUSED",
                  "INTERNAL_SERVER_ERROR",
                  "SERVICE_UNAVAILABLE",
                ],
              },
              message: { type: "string" },
              details: {
                type: "array",
                items: {
                  type: "object",
                  additionalProperties: false,
                  required: ["field", "message"],
                  properties: { field: { type: "string" }, message: { type: "string" } },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;
