import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListTasksQuery, TaskFieldsFragment, TaskFilter, TaskPriority } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { optionalInt, positiveInt } from "./helpers/env.js";
import { codesOf, dataOf, execute, type GraphQLResponse } from "./helpers/graphql.js";
import {
  AddTaskLabels,
  CreateTask,
  DeleteTask,
  GetTask,
  ListLabels,
  ListTasks,
  RemoveTaskLabels,
  SetTaskCompleted,
  ToggleTaskCompleted,
  UpdateTask,
} from "./helpers/operations.js";
import { asRest, errorOf, listOf, type RestResponse, type RestTask, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * A model-based test: random sequences of commands by three users (alice, bob,
 * carol), each sent through REST or GraphQL at random, on the real app and
 * database. After every command the real state, read back through the API
 * (every user's REST list with its `meta.total`; the acting user's GraphQL
 * list with its `totalCount`, in one order after another; their REST list
 * under one filter after another; and their labels), must equal an in-memory
 * model of each user's tasks and labels. Commands include other users' task
 * ids (404 / NOT_FOUND, nothing changes), deleted and never-existing ids,
 * stale If-Match / expectedVersion (412 / CONFLICT, nothing changes), invalid
 * input (400 / BAD_USER_INPUT), filtered, searched and sorted lists read page
 * by page, and creates with an Idempotency-Key, retried (the first task again,
 * nothing made) or reused with another input (422). At the end of each run
 * the rows in the database must be the model's too.
 *
 * Tasks carry a due date (all day on a calendar date, or at an instant), a
 * priority and labels: creates and updates set them (a legacy PUT that leaves
 * them out keeps them), addTaskLabels / removeTaskLabels change the labels,
 * and lists filter by them (priority, labels any/all, has a due date, overdue,
 * due on a day, due after/before an instant, in a time zone) and order by due
 * date and priority. Label names come from a small pool of case variants:
 * a user's labels are one per name ignoring case, made by the first name that
 * needs them and spelt that way from then on, with the same id everywhere.
 *
 * Size: MODEL_RUNS sequences (default 50) of up to MODEL_COMMANDS commands
 * (default 25), each after up to 8 tasks made to start with: about 650
 * commands and 5000 requests, 25 to 50 s on PGlite on two cores.
 *
 * On failure fast-check prints the seed, the path and the shrunk command
 * sequence. Replay it with MODEL_SEED=<seed> MODEL_PATH=<path> (and, for the
 * exact commands, MODEL_REPLAY_PATH=<replayPath>):
 *   MODEL_SEED=123 MODEL_PATH="4:1:2" npx vitest run test/model.test.ts
 * Sequences that once failed (`regressions` below) run first on every run,
 * seeded or not.
 */

const numRuns = positiveInt("MODEL_RUNS", 50);
const maxCommands = positiveInt("MODEL_COMMANDS", 25);
const seed = optionalInt("MODEL_SEED");
const path = process.env.MODEL_PATH;
const replayPath = process.env.MODEL_REPLAY_PATH;
/**
 * GraphQL answers a variable holding a value that is not of its enum type
 * (`priority: "Critical"`) with HTTP 200 and an error without
 * `extensions.code`, where a value that is not a Date gets 400
 * BAD_USER_INPUT. Until the two agree, priorities that are not GraphQL's
 * are sent through REST only; MODEL_GRAPHQL_BAD_ENUMS=1 sends them through
 * GraphQL too.
 */
const badEnumsToGraphQL = process.env.MODEL_GRAPHQL_BAD_ENUMS === "1";

// --- The model ----------------------------------------------------------------

const userNames = ["alice", "bob", "carol"] as const;
type UserName = (typeof userNames)[number];
type Via = "rest" | "graphql";

/** Least to most urgent: the order lists sort by. */
const priorities = ["NONE", "LOW", "MEDIUM", "HIGH", "URGENT"] as const satisfies readonly TaskPriority[];
type Priority = (typeof priorities)[number];
/** The rank of a priority in either spelling ("HIGH" or REST's "high"). */
const rankOf = (priority: string) => priorities.indexOf(priority.toUpperCase() as Priority);

interface ModelTask {
  id: string;
  owner: UserName;
  title: string;
  description: string | null;
  isCompleted: boolean;
  /** As the API last reported it: set when a task is completed, kept while it stays completed. */
  completedAt: string | null;
  createdAt: string;
  version: number;
  /** All day on this calendar date ("2026-12-24"), or null. At most one of dueDate and dueAt is set. */
  dueDate: string | null;
  /** At this instant, as the API spells it ("2026-12-24T16:00:00.000Z"), or null. */
  dueAt: string | null;
  priority: Priority;
  /** The keys of its labels (see labelKey), sorted: the order the API lists them in. */
  labels: string[];
}

/** One of a user's labels: the name it was made with, and its id once an answer has shown it. */
interface ModelLabel {
  name: string;
  id?: string;
}

interface Model {
  /** Every live task, by id, in creation order. */
  tasks: Map<string, ModelTask>;
  /** Every id ever created in this run, deleted ones included: targets for commands. */
  known: string[];
  /** Idempotency keys by "user\nkey": the normalized input they were first used with, and the task it made. */
  keys: Map<string, { request: string; task: ModelTask }>;
  /** The latest create sent with a key, for a retry to send again. */
  lastKeyed?: {
    user: UserName;
    title: string;
    description: string | null | undefined;
    planning: Planning;
    key: string;
  };
  /** Each user's labels by key. Labels outlive the tasks that made them, and nothing here deletes one. */
  labels: Record<UserName, Map<string, ModelLabel>>;
  /** How many times the state has been read back: it picks the order of the next read (see stateOrders). */
  reads: number;
}

interface Real {
  t: TestApp;
  ids: Record<UserName, string>;
  tokens: Record<UserName, string>;
}

/** A task as either API shows it, in one shape. */
interface Seen {
  id: string;
  ownerId: string;
  title: string;
  description: string | null;
  isCompleted: boolean;
  completedAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  dueDate: string | null;
  dueAt: string | null;
  /** As REST spells it: "none" to "urgent". */
  priority: string;
  /** The labels' names, in the API's order. */
  labels: string[];
  /** GraphQL only: the labels' ids and colors, in the same order. */
  labelIds?: string[];
  labelColors?: (string | null)[];
}

function fromRest(task: RestTask): Seen {
  return {
    id: task.id,
    ownerId: task.user_id,
    title: task.title,
    description: task.description,
    isCompleted: task.is_completed,
    completedAt: task.completed_at,
    createdAt: task.created_at,
    updatedAt: task.updated_at,
    version: task.version,
    dueDate: task.due_date,
    dueAt: task.due_at,
    priority: task.priority,
    labels: task.labels,
  };
}

const fromGraphQL = (task: TaskFieldsFragment): Seen => ({
  ...fromRest(asRest(task)),
  labelIds: task.labels.map((label) => label.id),
  labelColors: task.labels.map((label) => label.color ?? null),
});

/** What the API must show for a model task (updatedAt is not modelled). */
function expectSeen(seen: Seen, task: ModelTask, m: Model, real: Real): void {
  const { updatedAt: _ignored, labelIds, labelColors, ...rest } = seen;
  expect(rest).toEqual({
    id: task.id,
    ownerId: real.ids[task.owner],
    title: task.title,
    description: task.description,
    isCompleted: task.isCompleted,
    completedAt: task.completedAt,
    createdAt: task.createdAt,
    version: task.version,
    dueDate: task.dueDate,
    dueAt: task.dueAt,
    priority: task.priority.toLowerCase(),
    labels: labelNames(m, task.owner, task.labels),
  });
  if (labelIds !== undefined) expectLabelIds(m, task.owner, task.labels, labelIds);
  // Labels made by naming them on a task have no color.
  if (labelColors !== undefined) expect(labelColors).toEqual(task.labels.map(() => null));
}

const hasNul = (value: string) => value.includes("\u0000");
/** Lengths are in characters (code points), as PostgreSQL's VARCHAR counts them: an emoji is one. */
const characters = (value: string) => [...value].length;
/** The title as stored, or undefined when it is not a valid title. */
function normalTitle(title: string): string | undefined {
  const trimmed = title.trim();
  return characters(trimmed) >= 1 && characters(trimmed) <= 200 && !hasNul(trimmed) ? trimmed : undefined;
}
/** The description as stored (null for none), or undefined when it is not a valid description. */
function normalDescription(description: string | null): string | null | undefined {
  if (description === null) return null;
  const trimmed = description.trim();
  if (characters(trimmed) > 1000 || hasNul(trimmed)) return undefined;
  return trimmed === "" ? null : trimmed;
}

// Labels.

/** A task carries at most this many labels (different ignoring case). */
const maxLabelsPerTask = 20;
/** What makes two names the same label: case is ignored (after NFC, so "Zürich" in either normal form is one). */
const labelKey = (name: string) => name.normalize("NFC").toLowerCase();
/** The label name as given, trimmed, or undefined when it is not a valid name (1 to 50 characters, no comma). */
function normalLabel(name: string): string | undefined {
  const trimmed = name.trim();
  const valid = characters(trimmed) >= 1 && characters(trimmed) <= 50 && !trimmed.includes(",") && !hasNul(trimmed);
  return valid ? trimmed : undefined;
}
/** Names as a request gives them, trimmed; undefined when one is invalid or they are more than 20 labels. */
function normalLabels(names: readonly string[]): string[] | undefined {
  const trimmed: string[] = [];
  for (const name of names) {
    const normal = normalLabel(name);
    if (normal === undefined) return undefined;
    trimmed.push(normal);
  }
  return new Set(trimmed.map(labelKey)).size <= maxLabelsPerTask ? trimmed : undefined;
}
/** The labels that names mean, as keys in the order the API lists them (the pool's keys sort alike everywhere). */
const sortedKeys = (names: readonly string[]) => [...new Set(names.map(labelKey))].sort();

/** The names of a user's labels, by key. */
function labelNames(m: Model, user: UserName, keys: readonly string[]): string[] {
  return keys.map((key) => {
    const label = m.labels[user].get(key);
    if (label === undefined) throw new Error(`the model has no label "${key}" of ${user}`);
    return label.name;
  });
}

/** A label keeps its id: the first one an answer shows for a key is the one every later answer must show. */
function expectLabelIds(m: Model, user: UserName, keys: readonly string[], ids: readonly string[]): void {
  expect(ids).toHaveLength(keys.length);
  keys.forEach((key, i) => {
    const label = m.labels[user].get(key);
    const id = ids[i];
    if (label === undefined || id === undefined) return;
    if (label.id === undefined) label.id = id;
    else expect(id, `the id of ${user}'s label "${label.name}"`).toBe(label.id);
  });
}

/**
 * A successful write that named labels the user had none for made them,
 * each under a name as given (trimmed). Which spelling, when one request
 * gives a new label in two, is the API's choice: the model learns it from
 * the answer, which must show one of them.
 */
function learnLabels(m: Model, user: UserName, names: readonly string[], seen: Seen): void {
  const labels = m.labels[user];
  const spellings = new Map<string, string[]>();
  for (const name of names) {
    const key = labelKey(name);
    if (!labels.has(key)) spellings.set(key, [...(spellings.get(key) ?? []), name]);
  }
  for (const [key, given] of spellings) {
    const shown = seen.labels.find((name) => labelKey(name) === key);
    expect(given, `the new label "${key}" is on the task, named as given`).toContain(shown);
    labels.set(key, { name: shown ?? key });
  }
}

// Due dates.

/** When a task is due, as stored: both null for no due date. */
interface Due {
  dueDate: string | null;
  dueAt: string | null;
}
const noDue: Due = { dueDate: null, dueAt: null };

/** A calendar date "YYYY-MM-DD" (a real one), or undefined. */
function normalDate(text: string): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const date = new Date(`${text}T00:00:00.000Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text ? text : undefined;
}
/** An ISO-8601 date and time with an offset, as the API shows it (UTC with milliseconds), or undefined. */
function normalInstant(text: string): string | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,9})?)?(Z|[+-]\d{2}:[0-5]\d)$/.exec(text);
  if (!match?.[1] || normalDate(match[1]) === undefined) return undefined;
  const instant = new Date(text);
  return Number.isNaN(instant.getTime()) ? undefined : instant.toISOString();
}
/** Where an all-day task sorts: midnight UTC of its date. */
const dayStart = (date: string) => Date.parse(`${date}T00:00:00.000Z`);

const dayFormats = new Map<string, Intl.DateTimeFormat>();
/** The calendar date an instant falls on in an IANA time zone. */
function dayIn(instant: number, timeZone: string): string {
  let format = dayFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dayFormats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(new Date(instant)).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// What commands send: due date, priority and labels, each by the rules of each API.

/**
 * A due date as sent: each form that is sent, as sent (null included). For
 * GraphQL it is `due: {date, at}` (exactly one non-null, else invalid), and
 * null is `due: null` (none, or on update: clear it). For REST it is
 * `due_date` / `due_at` (not both non-null), and null sends `due_date: null`:
 * a form sent as null, with no other, clears the due date on a PUT.
 */
type DueSpec = { date?: string | null; at?: string | null } | null;
/**
 * A priority as sent: one of them (in lower case on REST), null (GraphQL: not
 * given; REST: left out), or a string sent as is, valid for GraphQL if it is
 * the enum value, for REST if it is a priority in any case ("High").
 */
type PrioritySpec = Priority | null | { raw: string };
/** The due date, priority and labels a create or update sends; an absent one is not sent. */
interface Planning {
  due?: DueSpec;
  priority?: PrioritySpec;
  /** Label names; null is GraphQL's `labels: null` (not given) and left out on REST. */
  labels?: string[] | null;
}
/** What a Planning means: each field set (undefined: none on create, kept on update). */
interface Planned {
  due?: Due;
  priority?: Priority;
  /** The names given, trimmed. */
  labels?: string[];
}

function dueOf(spec: DueSpec | undefined, via: Via): Due | undefined | "invalid" {
  if (spec === undefined) return undefined;
  if (via === "graphql") {
    if (spec === null) return noDue;
    if ((spec.date == null) === (spec.at == null)) return "invalid";
  }
  const date = spec === null ? null : spec.date;
  const at = spec === null ? undefined : spec.at;
  if (date != null && at != null) return "invalid";
  if (date != null) {
    const dueDate = normalDate(date);
    return dueDate === undefined ? "invalid" : { dueDate, dueAt: null };
  }
  if (at != null) {
    const dueAt = normalInstant(at);
    return dueAt === undefined ? "invalid" : { dueDate: null, dueAt };
  }
  return date === null || at === null ? noDue : undefined;
}

/** What the planning fields mean, or undefined when one is invalid. */
function plannedOf(planning: Planning, via: Via): Planned | undefined {
  const planned: Planned = {};
  const due = dueOf(planning.due, via);
  if (due === "invalid") return undefined;
  if (due !== undefined) planned.due = due;
  const { priority, labels } = planning;
  if (typeof priority === "object" && priority !== null) {
    const named = priorities.find((name) =>
      via === "graphql" ? name === priority.raw : name.toLowerCase() === priority.raw.toLowerCase(),
    );
    if (named === undefined) return undefined;
    planned.priority = named;
  } else if (priority != null) planned.priority = priority;
  if (labels != null) {
    const names = normalLabels(labels);
    if (names === undefined) return undefined;
    planned.labels = names;
  }
  return planned;
}

function restPlanning(planning: Planning): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const { due, priority, labels } = planning;
  if (due === null) body.due_date = null;
  else if (due !== undefined) {
    if (due.date !== undefined) body.due_date = due.date;
    if (due.at !== undefined) body.due_at = due.at;
  }
  if (typeof priority === "string") body.priority = priority.toLowerCase();
  else if (priority != null) body.priority = priority.raw;
  if (labels != null) body.labels = labels;
  return body;
}

function graphqlPlanning(planning: Planning) {
  const { due, priority, labels } = planning;
  return {
    ...(due === undefined ? {} : { due }),
    ...(priority === undefined
      ? {}
      : {
          priority: (priority === null || typeof priority === "string"
            ? priority
            : priority.raw) as TaskPriority | null,
        }),
    ...(labels === undefined ? {} : { labels }),
  };
}

function describePlanning(planning: Planning): string {
  return (["due", "priority", "labels"] as const)
    .filter((name) => planning[name] !== undefined)
    .map((name) => `, ${name}=${show(planning[name])}`)
    .join("");
}

type Outcome = "ok" | "notFound" | "conflict" | "badInput";

/** Which task a command acts on, resolved against the model when it runs. */
type Target =
  | { kind: "latest"; fallback: string }
  | { kind: "own"; index: number; fallback: string }
  | { kind: "anyKnown"; index: number; fallback: string }
  | { kind: "missing"; id: string };

function resolveTarget(m: Model, user: UserName, target: Target): string {
  if (target.kind === "missing") return target.id;
  if (target.kind === "latest") return m.known.at(-1) ?? target.fallback;
  const own = [...m.tasks.values()].filter((task) => task.owner === user).map((task) => task.id);
  const pool = target.kind === "own" && own.length > 0 ? own : m.known;
  return pool[target.index % Math.max(pool.length, 1)] ?? target.fallback;
}

function describeTarget(target: Target): string {
  if (target.kind === "missing" || target.kind === "latest") return target.kind;
  return `${target.kind}#${target.index}`;
}

/** If-Match / expectedVersion: none, the current version, a stale one, or "any" (`*`, or an explicit null). */
type Precondition =
  | { kind: "none" }
  | { kind: "any" }
  | { kind: "current"; weak: boolean }
  | { kind: "stale"; offset: number; below: boolean; weak: boolean };

/** The version a precondition sends: undefined sends none, null sends `*` or null. */
function versionFor(m: Model, id: string, pre: Precondition): number | null | undefined {
  const current = m.tasks.get(id)?.version ?? 1;
  switch (pre.kind) {
    case "none":
      return undefined;
    case "any":
      return null;
    case "current":
      return current;
    case "stale":
      return pre.below && current > pre.offset ? current - pre.offset : current + pre.offset;
  }
}

function describePrecondition(pre: Precondition): string {
  if (pre.kind === "stale") return `stale(${pre.below ? "-" : "+"}${pre.offset}${pre.weak ? ",weak" : ""})`;
  if (pre.kind === "current") return pre.weak ? "current(weak)" : "current";
  return pre.kind;
}

function ifMatchHeader(version: number | null | undefined, pre: Precondition): Record<string, string> {
  if (version === undefined) return {};
  if (version === null) return { "if-match": "*" };
  const weak = (pre.kind === "current" || pre.kind === "stale") && pre.weak;
  return { "if-match": `${weak ? "W/" : ""}"${version}"` };
}

/** Whether a write on `id` by `user` with this precondition can happen. */
function writeOutcome(m: Model, user: UserName, id: string, pre: Precondition): Outcome {
  const task = m.tasks.get(id);
  if (task === undefined || task.owner !== user) return "notFound";
  return pre.kind === "stale" ? "conflict" : "ok";
}

/** What a write changes; absent fields stay. */
interface Change {
  title?: string;
  description?: string | null;
  isCompleted?: boolean;
  toggle?: boolean;
  due?: Due;
  priority?: Priority;
  /** The keys of the task's labels after the write. */
  labels?: string[];
  /** The label names the write gave (trimmed): those the user has no label for make one. */
  named?: readonly string[];
}

/** The model task after a successful write, checked against what the API answered. */
function afterWrite(before: ModelTask, change: Change, seen: Seen, m: Model, real: Real): ModelTask {
  const isCompleted = change.toggle ? !before.isCompleted : (change.isCompleted ?? before.isCompleted);
  let completedAt: string | null = null;
  if (isCompleted) {
    if (before.isCompleted) {
      completedAt = before.completedAt;
    } else {
      expect(seen.completedAt, "completing sets completedAt").toEqual(expect.any(String));
      completedAt = seen.completedAt;
    }
  }
  if (change.named !== undefined) learnLabels(m, before.owner, change.named, seen);
  const after: ModelTask = {
    ...before,
    title: change.title ?? before.title,
    description: change.description === undefined ? before.description : change.description,
    isCompleted,
    completedAt,
    version: before.version + 1,
    ...(change.due ?? {}),
    priority: change.priority ?? before.priority,
    labels: change.labels ?? before.labels,
  };
  expectSeen(seen, after, m, real);
  return after;
}

// --- Talking to the app ---------------------------------------------------------

const tasksPath = (real: Real, user: UserName) => `/api/${encodeURIComponent(real.ids[user])}/tasks`;
const taskPath = (real: Real, user: UserName, id: string) => `${tasksPath(real, user)}/${id}`;

/** A REST failure with the status and code an outcome means. */
function expectRestFailure(res: RestResponse, outcome: Exclude<Outcome, "ok">): void {
  if (outcome === "notFound") errorOf(res, 404, "NOT_FOUND");
  else if (outcome === "conflict") errorOf(res, 412, "PRECONDITION_FAILED");
  else errorOf(res, 400, "BAD_USER_INPUT");
}

/**
 * A GraphQL failure: exactly one error with the outcome's code and HTTP
 * status, and no data. Invalid input may be several errors (a variable with
 * two values that are not of their types gets one for each), all
 * BAD_USER_INPUT.
 */
function expectGraphQLFailure(res: GraphQLResponse<unknown>, outcome: Exclude<Outcome, "ok">): void {
  const [code, status] =
    outcome === "notFound"
      ? ["NOT_FOUND", 404]
      : outcome === "conflict"
        ? ["CONFLICT", 409]
        : (["BAD_USER_INPUT", 400] as const);
  const codes = codesOf(res);
  if (outcome === "badInput") expect([...new Set(codes)]).toEqual([code]);
  else expect(codes).toEqual([code]);
  expect(res.status).toBe(status);
  expect(res.data ?? null).toBeNull();
}

/** REST `list` and GraphQL `tasks` share these orders. */
const sorts = {
  created_at: { field: "CREATED_AT", direction: "ASC", key: "createdAt" },
  "-created_at": { field: "CREATED_AT", direction: "DESC", key: "createdAt" },
  updated_at: { field: "UPDATED_AT", direction: "ASC", key: "updatedAt" },
  "-updated_at": { field: "UPDATED_AT", direction: "DESC", key: "updatedAt" },
  title: { field: "TITLE", direction: "ASC", key: undefined },
  "-title": { field: "TITLE", direction: "DESC", key: undefined },
  due: { field: "DUE", direction: "ASC", key: "due" },
  "-due": { field: "DUE", direction: "DESC", key: "due" },
  priority: { field: "PRIORITY", direction: "ASC", key: "priority" },
  "-priority": { field: "PRIORITY", direction: "DESC", key: "priority" },
} as const;
type SortKey = keyof typeof sorts;

const statuses = {
  all: { rest: "all", graphql: "ALL" },
  open: { rest: "pending", graphql: "OPEN" },
  completed: { rest: "completed", graphql: "COMPLETED" },
} as const;
type Status = keyof typeof statuses;

/**
 * A list's conditions on due date, priority and labels (all must hold);
 * calendar days are read in `timeZone` (UTC when not sent).
 */
interface ListFilter {
  priorities?: Priority[];
  /** Label names: carrying any of them. */
  anyOf?: string[];
  /** Label names: carrying every one. */
  allOf?: string[];
  hasDue?: boolean;
  overdue?: boolean;
  dueOn?: string;
  dueAfter?: string;
  dueBefore?: string;
  timeZone?: string;
  /** REST only: each label name in a parameter of its own (`labels=a&labels=b`) rather than `labels=a,b`. */
  repeat?: boolean;
}

/** ILIKE is case-insensitive; the texts here mix ASCII with characters that have no ASCII case partner. */
const foldAscii = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

/**
 * Whether a task meets a list's filter, `now` being the time of the list.
 * An all-day task is due throughout its date in the zone, a timed task at
 * its instant: due on a day if that is its date (or the instant falls on
 * it); due at or after an instant if its day has not ended by then; due
 * before one if its day has begun before then; overdue when open and its
 * instant has passed, or its whole day.
 */
function meetsFilter(task: ModelTask, filter: ListFilter, now: number): boolean {
  const zone = filter.timeZone ?? "UTC";
  const keys = (names: string[]) => names.map((name) => labelKey(name.trim()));
  if (filter.priorities && !filter.priorities.includes(task.priority)) return false;
  if (filter.anyOf && !keys(filter.anyOf).some((key) => task.labels.includes(key))) return false;
  if (filter.allOf && !keys(filter.allOf).every((key) => task.labels.includes(key))) return false;
  const at = task.dueAt === null ? undefined : Date.parse(task.dueAt);
  const date = task.dueDate;
  if (filter.hasDue !== undefined && (date !== null || at !== undefined) !== filter.hasDue) return false;
  if (filter.dueOn !== undefined && (date ?? (at === undefined ? undefined : dayIn(at, zone))) !== filter.dueOn) {
    return false;
  }
  if (filter.dueAfter !== undefined) {
    const after = Date.parse(filter.dueAfter);
    if (date !== null ? date < dayIn(after, zone) : at === undefined || at < after) return false;
  }
  if (filter.dueBefore !== undefined) {
    const before = Date.parse(filter.dueBefore);
    const day = dayIn(before, zone);
    // The day of `before` has begun before it unless `before` is its very first instant.
    const begun = (d: string) => d < day || (d === day && dayIn(before - 1, zone) === day);
    if (date !== null ? !begun(date) : at === undefined || at >= before) return false;
  }
  if (filter.overdue !== undefined) {
    const overdue = !task.isCompleted && (date !== null ? date < dayIn(now, zone) : at !== undefined && at < now);
    if (overdue !== filter.overdue) return false;
  }
  return true;
}

function expectedList(
  m: Model,
  user: UserName,
  status: Status,
  search: string | undefined,
  filter: ListFilter = {},
  now = Date.now(),
): ModelTask[] {
  const needle = foldAscii(search?.trim() ?? "");
  return [...m.tasks.values()].filter(
    (task) =>
      task.owner === user &&
      (status === "all" || task.isCompleted === (status === "completed")) &&
      (needle === "" ||
        foldAscii(task.title).includes(needle) ||
        (task.description !== null && foldAscii(task.description).includes(needle))) &&
      meetsFilter(task, filter, now),
  );
}

/** Where a task sorts by due date: an all-day task at midnight UTC of its date; null without one. */
function dueKey(task: Seen): number | null {
  if (task.dueDate !== null) return dayStart(task.dueDate);
  return task.dueAt === null ? null : Date.parse(task.dueAt);
}

/**
 * -1 when `a` must come before `b` in the order, 1 when after: by the key,
 * then by id, in the order's direction; by due date, tasks without one come
 * last in either direction (among themselves by id). Undefined when the
 * order is not checkable here (titles sort in the database's collation).
 */
function orderOf(a: Seen, b: Seen, sort: SortKey): number | undefined {
  const { key, direction } = sorts[sort];
  if (key === undefined) return undefined;
  const sign = direction === "ASC" ? 1 : -1;
  const byId = a.id < b.id ? -1 : 1;
  let ka: string | number;
  let kb: string | number;
  if (key === "due") {
    const [da, db] = [dueKey(a), dueKey(b)];
    if (da === null || db === null) return da === db ? sign * byId : da === null ? 1 : -1;
    [ka, kb] = [da, db];
  } else if (key === "priority") [ka, kb] = [rankOf(a.priority), rankOf(b.priority)];
  else [ka, kb] = [a[key], b[key]];
  return sign * (ka === kb ? byId : ka < kb ? -1 : 1);
}

/** The list, page after page, must be exactly the expected tasks, each once, in (key, id) order when checkable. */
function expectListed(seen: Seen[], expected: ModelTask[], sort: SortKey, m: Model, real: Real): void {
  expect(seen.map((task) => task.id).sort()).toEqual(expected.map((task) => task.id).sort());
  const byId = new Map(expected.map((task) => [task.id, task]));
  for (const task of seen) {
    const model = byId.get(task.id);
    if (model === undefined) throw new Error(`listed a task the model does not have: ${task.id}`);
    expectSeen(task, model, m, real);
  }
  for (let i = 1; i < seen.length; i++) {
    const a = seen[i - 1];
    const b = seen[i];
    if (a === undefined || b === undefined) continue;
    const order = orderOf(a, b, sort);
    if (order !== undefined) expect(order, `${sort} order between ${a.id} and ${b.id}`).toBe(-1);
  }
}

/** The orders expectState reads the acting user's lists in, one after another. */
const stateOrders: SortKey[] = ["-created_at", "due", "priority", "-due", "created_at", "-priority"];
/** The filters expectState reads the acting user's REST list with, one after another (13: all pairs with the orders). */
const stateFilters: ListFilter[] = [
  { hasDue: true },
  { priorities: ["HIGH", "URGENT"] },
  { anyOf: ["HOME", "work"] },
  { hasDue: false, timeZone: "Europe/Berlin" },
  { allOf: ["home", "Work"], repeat: true },
  { overdue: false, timeZone: "Pacific/Kiritimati" },
  { priorities: ["NONE", "MEDIUM"] },
  { anyOf: [" errands ", "Zu\u0308rich", "nope"], repeat: true },
  { dueAfter: "2026-12-24T00:00:00Z", timeZone: "America/Adak" },
  { dueBefore: "2026-12-24T10:00:00.000Z", timeZone: "Pacific/Kiritimati" },
  { overdue: true },
  { dueOn: "2026-12-24", timeZone: "Asia/Kolkata" },
  { dueOn: "2026-12-25", timeZone: "Pacific/Kiritimati", priorities: ["NONE", "LOW", "HIGH"] },
];

/**
 * After every command: each user's tasks, read back through the API, are the
 * model's, and so are the acting user's labels (names, ids, task counts):
 * a refused request made none.
 */
async function expectState(m: Model, real: Real, actor: UserName): Promise<void> {
  for (const user of userNames) {
    const expected = expectedList(m, user, "all", undefined);
    const list = listOf(await rest(real.t, "GET", `${tasksPath(real, user)}?limit=1000`, { token: real.tokens[user] }));
    expect(list.meta.total, `${user}'s REST total`).toBe(expected.length);
    expect(list.meta).toMatchObject({ count: expected.length, limit: 1000, next_cursor: null });
    expectListed(list.data.map(fromRest), expected, "-created_at", m, real);
  }
  const expected = expectedList(m, actor, "all", undefined);
  // The acting user's whole list, in each checkable order in turn.
  const read = m.reads++;
  const sort = stateOrders[read % stateOrders.length] ?? "-created_at";
  const { field, direction } = sorts[sort];
  const orderBy = { field, direction };
  const { tasks } = dataOf(await execute(real.t, ListTasks, { first: 100, orderBy }, real.tokens[actor]));
  expect(tasks.totalCount, `${actor}'s GraphQL totalCount`).toBe(expected.length);
  expect(tasks.pageInfo.hasNextPage).toBe(false);
  expectListed(
    tasks.edges.map((edge) => fromGraphQL(edge.node)),
    expected,
    sort,
    m,
    real,
  );

  // And through REST under one of a few filters, in another order.
  const filter = stateFilters[read % stateFilters.length] ?? {};
  const restSort = stateOrders[(read + 3) % stateOrders.length] ?? "-created_at";
  const filtered = expectedList(m, actor, "all", undefined, filter, Date.now());
  const query = new URLSearchParams({ limit: "1000", sort: restSort });
  restFilter(query, filter);
  const page = listOf(await rest(real.t, "GET", `${tasksPath(real, actor)}?${query}`, { token: real.tokens[actor] }));
  expect(page.meta.total, `${actor}'s REST total with ${JSON.stringify(filter)}`).toBe(filtered.length);
  expectListed(page.data.map(fromRest), filtered, restSort, m, real);

  const { labels } = dataOf(await execute(real.t, ListLabels, {}, real.tokens[actor]));
  const keys = [...m.labels[actor].keys()].sort();
  expect(
    labels.map((label) => label.name),
    `${actor}'s labels`,
  ).toEqual(labelNames(m, actor, keys));
  expectLabelIds(
    m,
    actor,
    keys,
    labels.map((label) => label.id),
  );
  expect(labels.map((label) => [label.color ?? null, label.taskCount])).toEqual(
    keys.map((key) => [null, expected.filter((task) => task.labels.includes(key)).length]),
  );
}

// --- Commands -------------------------------------------------------------------

type ModelCommand = fc.AsyncCommand<Model, Real>;

const show = (value: unknown) => (value === undefined ? "-" : JSON.stringify(value));

/**
 * A create, with or without an Idempotency-Key. A key already used by this
 * user with the same (normalized) input replays the task as first created and
 * creates nothing; with another input it is refused (422); keys are per user.
 * Labels named that the user has none for are made (on a task really created).
 */
class CreateCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly title: string,
    readonly description: string | null | undefined,
    readonly planning: Planning = {},
    readonly key: string | undefined = undefined,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const title = normalTitle(this.title);
    const description = normalDescription(this.description ?? null);
    const planned = plannedOf(this.planning, this.via);
    const due = planned?.due ?? noDue;
    const priority = planned?.priority ?? "NONE";
    const names = planned?.labels ?? [];
    const input = { title: this.title, ...(this.description === undefined ? {} : { description: this.description }) };
    const keyed = this.key === undefined ? undefined : m.keys.get(`${this.user}\n${this.key}`);
    // The same input, normalized: the same title, description, due date (instant), priority and labels (ignoring case).
    const request = JSON.stringify([title, description, due, priority, sortedKeys(names)]);
    const outcome: "created" | "replayed" | "reused" | "badInput" =
      title === undefined || description === undefined || planned === undefined
        ? "badInput"
        : keyed === undefined
          ? "created"
          : keyed.request === request
            ? "replayed"
            : "reused";
    const headers: Record<string, string> = this.key === undefined ? {} : { "idempotency-key": this.key };

    let seen: Seen | undefined;
    if (this.via === "rest") {
      const res = await rest(real.t, "POST", tasksPath(real, this.user), {
        token: real.tokens[this.user],
        body: { ...input, ...restPlanning(this.planning) },
        headers,
      });
      if (outcome === "badInput") expectRestFailure(res, "badInput");
      else if (outcome === "reused") errorOf(res, 422, "IDEMPOTENCY_KEY_REUSED");
      else {
        seen = fromRest(taskOf(res, 201));
        expect(res.headers.get("location")).toBe(`${tasksPath(real, this.user)}/${seen.id}`);
      }
    } else {
      const res = await execute(
        real.t,
        CreateTask,
        { input: { ...input, ...graphqlPlanning(this.planning) } },
        { token: real.tokens[this.user], headers },
      );
      if (outcome === "badInput") expectGraphQLFailure(res, "badInput");
      else if (outcome === "reused") {
        expect(codesOf(res)).toEqual(["IDEMPOTENCY_KEY_REUSED"]);
        expect(res.status).toBe(422);
      } else seen = fromGraphQL(dataOf(res).createTask);
    }

    if (outcome === "replayed" && seen !== undefined && keyed !== undefined) {
      // The task as it was first created, whatever happened to it since.
      expectSeen(seen, keyed.task, m, real);
    } else if (outcome === "created" && seen !== undefined && title !== undefined && description !== undefined) {
      expect(m.known).not.toContain(seen.id);
      learnLabels(m, this.user, names, seen);
      const task: ModelTask = {
        id: seen.id,
        owner: this.user,
        title,
        description,
        isCompleted: false,
        completedAt: null,
        createdAt: seen.createdAt,
        version: 1,
        ...due,
        priority,
        labels: sortedKeys(names),
      };
      expectSeen(seen, task, m, real);
      expect(seen.updatedAt).toBe(seen.createdAt);
      m.tasks.set(task.id, task);
      m.known.push(task.id);
      if (this.key !== undefined) m.keys.set(`${this.user}\n${this.key}`, { request, task });
    }
    if (this.key !== undefined) {
      m.lastKeyed = {
        user: this.user,
        title: this.title,
        description: this.description,
        planning: this.planning,
        key: this.key,
      };
    }
    await expectState(m, real, this.user);
  }
  toString(): string {
    const key = this.key === undefined ? "" : `, key=${show(this.key)}`;
    return `create(${this.user}, ${this.via}, title=${show(this.title)}, description=${show(this.description)}${describePlanning(this.planning)}${key})`;
  }
}

/** The latest create with a key, sent again (a client's retry), through either API, as is or with another title. */
class RetryCreateCommand implements ModelCommand {
  constructor(
    readonly via: Via,
    readonly otherTitle: string | undefined,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const last = m.lastKeyed;
    if (last === undefined) return expectState(m, real, "alice");
    const title = this.otherTitle ?? last.title;
    await new CreateCommand(last.user, this.via, title, last.description, last.planning, last.key).run(m, real);
  }
  toString(): string {
    return `retryLastKeyedCreate(${this.via}${this.otherTitle === undefined ? "" : `, title=${show(this.otherTitle)}`})`;
  }
}

/**
 * REST PUT (replaces title and description, optionally completion; due date,
 * priority and labels only when sent, so a legacy body keeps them) or GraphQL
 * updateTask (changes what is given).
 */
class UpdateCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly target: Target,
    readonly pre: Precondition,
    readonly title: string | null | undefined,
    readonly description: string | null | undefined,
    readonly isCompleted: boolean | null | undefined,
    readonly planning: Planning = {},
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const id = resolveTarget(m, this.user, this.target);
    const version = versionFor(m, id, this.pre);
    const before = m.tasks.get(id);

    // What the request asks for, and whether it is valid input, by the rules of each API.
    const change: Change = {};
    let valid = true;
    if (typeof this.title === "string") {
      const title = normalTitle(this.title);
      if (title === undefined) valid = false;
      else change.title = title;
    } else if (this.via === "rest") {
      valid = false; // PUT needs a title (and null is not one).
    }
    if (this.description !== undefined || this.via === "rest") {
      // PUT replaces: a description left out is cleared.
      const description = normalDescription(this.description ?? null);
      if (description === undefined) valid = false;
      else change.description = description;
    }
    if (typeof this.isCompleted === "boolean") change.isCompleted = this.isCompleted;
    else if (this.isCompleted === null && this.via === "rest") valid = false; // is_completed must be a boolean.
    const planned = plannedOf(this.planning, this.via);
    if (planned === undefined) valid = false;
    else {
      if (planned.due !== undefined) change.due = planned.due;
      if (planned.priority !== undefined) change.priority = planned.priority;
      if (planned.labels !== undefined) {
        change.labels = sortedKeys(planned.labels);
        change.named = planned.labels;
      }
    }
    const { due, priority, labels } = this.planning;
    if (
      this.via === "graphql" &&
      this.title == null &&
      this.description === undefined &&
      this.isCompleted == null &&
      due === undefined &&
      priority == null &&
      labels == null
    ) {
      valid = false; // Nothing to change.
    }
    const outcome: Outcome = valid ? writeOutcome(m, this.user, id, this.pre) : "badInput";

    let seen: Seen | undefined;
    if (this.via === "rest") {
      const body: Record<string, unknown> = {};
      if (this.title !== undefined) body.title = this.title;
      if (this.description !== undefined) body.description = this.description;
      if (this.isCompleted !== undefined) body.is_completed = this.isCompleted;
      const res = await rest(real.t, "PUT", taskPath(real, this.user, id), {
        token: real.tokens[this.user],
        body: { ...body, ...restPlanning(this.planning) },
        headers: ifMatchHeader(version, this.pre),
      });
      if (outcome !== "ok") expectRestFailure(res, outcome);
      else seen = fromRest(taskOf(res));
    } else {
      const input = {
        ...(this.title === undefined ? {} : { title: this.title }),
        ...(this.description === undefined ? {} : { description: this.description }),
        ...(this.isCompleted === undefined ? {} : { isCompleted: this.isCompleted }),
        ...graphqlPlanning(this.planning),
        ...(version === undefined ? {} : { expectedVersion: version }),
      };
      const res = await execute(real.t, UpdateTask, { id, input }, real.tokens[this.user]);
      if (outcome !== "ok") expectGraphQLFailure(res, outcome);
      else seen = fromGraphQL(dataOf(res).updateTask);
    }

    if (seen !== undefined && before !== undefined) m.tasks.set(id, afterWrite(before, change, seen, m, real));
    await expectState(m, real, this.user);
  }
  toString(): string {
    return (
      `update(${this.user}, ${this.via}, ${describeTarget(this.target)}, ${describePrecondition(this.pre)}, ` +
      `title=${show(this.title)}, description=${show(this.description)}, isCompleted=${show(this.isCompleted)}` +
      `${describePlanning(this.planning)})`
    );
  }
}

/**
 * GraphQL addTaskLabels (names the user has no label for make one) or
 * removeTaskLabels (names the task does not carry are ignored; the labels
 * stay). Either raises the version by one. Invalid names, or more than 20
 * labels, given or on the task after adding, are BAD_USER_INPUT, changing
 * nothing and making no label; whether the task can be written is known
 * before the count after adding is.
 */
class TaskLabelsCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly action: "add" | "remove",
    readonly target: Target,
    readonly pre: Precondition,
    readonly names: string[],
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const id = resolveTarget(m, this.user, this.target);
    const version = versionFor(m, id, this.pre);
    const before = m.tasks.get(id);
    const names = normalLabels(this.names);
    let outcome: Outcome = names === undefined ? "badInput" : writeOutcome(m, this.user, id, this.pre);
    let labels: string[] | undefined;
    if (outcome === "ok" && before !== undefined && names !== undefined) {
      const given = sortedKeys(names);
      labels =
        this.action === "add"
          ? [...new Set([...before.labels, ...given])].sort()
          : before.labels.filter((key) => !given.includes(key));
      if (labels.length > maxLabelsPerTask) outcome = "badInput";
    }

    const variables = { id, names: this.names, ...(version === undefined ? {} : { expectedVersion: version }) };
    const token = real.tokens[this.user];
    let seen: Seen | undefined;
    if (this.action === "add") {
      const res = await execute(real.t, AddTaskLabels, variables, token);
      if (outcome !== "ok") expectGraphQLFailure(res, outcome);
      else seen = fromGraphQL(dataOf(res).addTaskLabels);
    } else {
      const res = await execute(real.t, RemoveTaskLabels, variables, token);
      if (outcome !== "ok") expectGraphQLFailure(res, outcome);
      else seen = fromGraphQL(dataOf(res).removeTaskLabels);
    }

    if (seen !== undefined && before !== undefined && labels !== undefined) {
      const change: Change = { labels, ...(this.action === "add" && names !== undefined ? { named: names } : {}) };
      m.tasks.set(id, afterWrite(before, change, seen, m, real));
    }
    await expectState(m, real, this.user);
  }
  toString(): string {
    return `${this.action}TaskLabels(${this.user}, ${describeTarget(this.target)}, ${describePrecondition(this.pre)}, ${show(this.names)})`;
  }
}

/**
 * A completion change on one task: REST PATCH .../complete with {"is_completed"}
 * or GraphQL setTaskCompleted, or, with `completed` undefined, PATCH with no
 * body or GraphQL toggleTaskCompleted.
 */
async function runCompletion(
  m: Model,
  real: Real,
  command: { user: UserName; via: Via; target: Target; pre: Precondition },
  completed: boolean | undefined,
): Promise<void> {
  const { user, via, pre } = command;
  const id = resolveTarget(m, user, command.target);
  const version = versionFor(m, id, pre);
  const before = m.tasks.get(id);
  const outcome = writeOutcome(m, user, id, pre);
  const token = real.tokens[user];

  let seen: Seen | undefined;
  if (via === "rest") {
    const res = await rest(real.t, "PATCH", `${taskPath(real, user, id)}/complete`, {
      token,
      ...(completed === undefined ? {} : { body: { is_completed: completed } }),
      headers: ifMatchHeader(version, pre),
    });
    if (outcome !== "ok") expectRestFailure(res, outcome);
    else seen = fromRest(taskOf(res));
  } else {
    const expectedVersion = version === undefined ? {} : { expectedVersion: version };
    if (completed === undefined) {
      const res = await execute(real.t, ToggleTaskCompleted, { id, ...expectedVersion }, token);
      if (outcome !== "ok") expectGraphQLFailure(res, outcome);
      else seen = fromGraphQL(dataOf(res).toggleTaskCompleted);
    } else {
      const res = await execute(real.t, SetTaskCompleted, { id, completed, ...expectedVersion }, token);
      if (outcome !== "ok") expectGraphQLFailure(res, outcome);
      else seen = fromGraphQL(dataOf(res).setTaskCompleted);
    }
  }

  if (seen !== undefined && before !== undefined) {
    const change = completed === undefined ? { toggle: true } : { isCompleted: completed };
    m.tasks.set(id, afterWrite(before, change, seen, m, real));
  }
  await expectState(m, real, user);
}

class SetCompletedCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly target: Target,
    readonly pre: Precondition,
    readonly completed: boolean,
  ) {}
  check = () => true;
  run = (m: Model, real: Real) => runCompletion(m, real, this, this.completed);
  toString(): string {
    return `setCompleted(${this.user}, ${this.via}, ${describeTarget(this.target)}, ${describePrecondition(this.pre)}, ${this.completed})`;
  }
}

class ToggleCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly target: Target,
    readonly pre: Precondition,
  ) {}
  check = () => true;
  run = (m: Model, real: Real) => runCompletion(m, real, this, undefined);
  toString(): string {
    return `toggle(${this.user}, ${this.via}, ${describeTarget(this.target)}, ${describePrecondition(this.pre)})`;
  }
}

class DeleteCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly target: Target,
    readonly pre: Precondition,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const id = resolveTarget(m, this.user, this.target);
    const version = versionFor(m, id, this.pre);
    const outcome = writeOutcome(m, this.user, id, this.pre);

    if (this.via === "rest") {
      const res = await rest(real.t, "DELETE", taskPath(real, this.user, id), {
        token: real.tokens[this.user],
        headers: ifMatchHeader(version, this.pre),
      });
      if (outcome !== "ok") expectRestFailure(res, outcome);
      else expect(res.status).toBe(204);
    } else {
      const variables = { id, ...(version === undefined ? {} : { expectedVersion: version }) };
      const res = await execute(real.t, DeleteTask, variables, real.tokens[this.user]);
      if (outcome !== "ok") expectGraphQLFailure(res, outcome);
      else expect(dataOf(res).deleteTask.deletedTaskId).toBe(id);
    }

    if (outcome === "ok") m.tasks.delete(id);
    await expectState(m, real, this.user);
  }
  toString(): string {
    return `delete(${this.user}, ${this.via}, ${describeTarget(this.target)}, ${describePrecondition(this.pre)})`;
  }
}

class GetCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly target: Target,
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const id = resolveTarget(m, this.user, this.target);
    const task = m.tasks.get(id);
    const visible = task !== undefined && task.owner === this.user ? task : undefined;

    if (this.via === "rest") {
      const res = await rest(real.t, "GET", taskPath(real, this.user, id), { token: real.tokens[this.user] });
      if (visible === undefined) expectRestFailure(res, "notFound");
      else {
        expectSeen(fromRest(taskOf(res)), visible, m, real);
        expect(res.headers.get("etag")).toBe(`"${visible.version}"`);
      }
    } else {
      const res = await execute(real.t, GetTask, { id }, real.tokens[this.user]);
      const found = dataOf(res).task;
      if (visible === undefined) expect(found).toBeNull();
      else if (found == null) throw new Error(`task ${id} of ${this.user} not found`);
      else expectSeen(fromGraphQL(found), visible, m, real);
    }
    await expectState(m, real, this.user);
  }
  toString(): string {
    return `get(${this.user}, ${this.via}, ${describeTarget(this.target)})`;
  }
}

/**
 * A list's search text: none, random text, or a piece of one of the user's
 * titles (so that searches find something), in random ASCII case.
 */
type Search =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "fromTitle"; index: number; start: number; length: number; upper: boolean[] };

function resolveSearch(m: Model, user: UserName, search: Search): string | undefined {
  if (search.kind === "none") return undefined;
  if (search.kind === "text") return search.text;
  const titles = [...m.tasks.values()].filter((task) => task.owner === user).map((task) => [...task.title]);
  const title = titles[search.index % Math.max(titles.length, 1)] ?? [..."no such title"];
  const start = search.start % title.length;
  // Only ASCII letters change case: the model folds ASCII case, as ILIKE does.
  return title
    .slice(start, start + search.length)
    .map((c, i) =>
      /^[a-z]$/i.test(c) ? (search.upper[i % search.upper.length] ? c.toUpperCase() : c.toLowerCase()) : c,
    )
    .join("");
}

function describeSearch(search: Search): string {
  if (search.kind === "none") return "-";
  if (search.kind === "text") return JSON.stringify(search.text);
  return `title#${search.index}[${search.start}+${search.length}]`;
}

/** The filter as REST query parameters. */
function restFilter(query: URLSearchParams, filter: ListFilter): void {
  if (filter.priorities) query.set("priority", filter.priorities.map((p) => p.toLowerCase()).join(","));
  for (const [name, names] of [
    ["labels", filter.anyOf],
    ["labels_all", filter.allOf],
  ] as const) {
    if (names === undefined) continue;
    if (filter.repeat) for (const label of names) query.append(name, label);
    else query.set(name, names.join(","));
  }
  if (filter.hasDue !== undefined) query.set("has_due", String(filter.hasDue));
  if (filter.overdue !== undefined) query.set("overdue", String(filter.overdue));
  if (filter.dueOn !== undefined) query.set("due_on", filter.dueOn);
  if (filter.dueAfter !== undefined) query.set("due_after", filter.dueAfter);
  if (filter.dueBefore !== undefined) query.set("due_before", filter.dueBefore);
  if (filter.timeZone !== undefined) query.set("tz", filter.timeZone);
}

/** The filter as GraphQL's TaskFilter (besides status and search). */
function graphqlFilter(filter: ListFilter): Omit<TaskFilter, "status" | "search"> {
  const { priorities, anyOf, allOf, hasDue, overdue, dueOn, dueAfter, dueBefore, timeZone } = filter;
  return {
    ...(priorities === undefined ? {} : { priorities }),
    ...(anyOf === undefined && allOf === undefined
      ? {}
      : { labels: { ...(anyOf === undefined ? {} : { anyOf }), ...(allOf === undefined ? {} : { allOf }) } }),
    ...(hasDue === undefined ? {} : { hasDueDate: hasDue }),
    ...(overdue === undefined ? {} : { overdue }),
    ...(dueOn === undefined ? {} : { dueOn }),
    ...(dueAfter === undefined ? {} : { dueAfter }),
    ...(dueBefore === undefined ? {} : { dueBefore }),
    ...(timeZone === undefined ? {} : { timeZone }),
  };
}

/** A filtered, sorted list read page by page through its cursors. */
class ListCommand implements ModelCommand {
  constructor(
    readonly user: UserName,
    readonly via: Via,
    readonly status: Status,
    readonly sort: SortKey,
    readonly searchSpec: Search,
    readonly pageSize: number,
    readonly filter: ListFilter = {},
  ) {}
  check = () => true;
  async run(m: Model, real: Real): Promise<void> {
    const search = resolveSearch(m, this.user, this.searchSpec);
    const expected = expectedList(m, this.user, this.status, search, this.filter, Date.now());
    const seen: Seen[] = [];
    const pages = Math.ceil(expected.length / this.pageSize) + 1;
    let cursor: string | null = null;

    for (let page = 0; page < pages; page++) {
      if (this.via === "rest") {
        const query = new URLSearchParams({
          status: statuses[this.status].rest,
          sort: this.sort,
          limit: String(this.pageSize),
        });
        if (search !== undefined) query.set("q", search);
        restFilter(query, this.filter);
        if (cursor !== null) query.set("cursor", cursor);
        const list = listOf(
          await rest(real.t, "GET", `${tasksPath(real, this.user)}?${query}`, { token: real.tokens[this.user] }),
        );
        expect(list.meta.total).toBe(expected.length);
        expect(list.meta.count).toBe(list.data.length);
        expect(list.meta.limit).toBe(this.pageSize);
        expect(list.data.length).toBeLessThanOrEqual(this.pageSize);
        seen.push(...list.data.map(fromRest));
        cursor = list.meta.next_cursor;
      } else {
        const { field, direction } = sorts[this.sort];
        const res: GraphQLResponse<ListTasksQuery> = await execute(
          real.t,
          ListTasks,
          {
            first: this.pageSize,
            after: cursor,
            filter: {
              status: statuses[this.status].graphql,
              ...(search === undefined ? {} : { search }),
              ...graphqlFilter(this.filter),
            },
            orderBy: { field, direction },
          },
          real.tokens[this.user],
        );
        const { tasks } = dataOf(res);
        expect(tasks.totalCount).toBe(expected.length);
        expect(tasks.edges.length).toBeLessThanOrEqual(this.pageSize);
        seen.push(...tasks.edges.map((edge) => fromGraphQL(edge.node)));
        cursor = tasks.pageInfo.hasNextPage ? (tasks.pageInfo.endCursor ?? null) : null;
        if (tasks.pageInfo.hasNextPage) expect(cursor).toEqual(expect.any(String));
      }
      if (cursor === null) break;
    }
    expect(cursor, "the last page has no next cursor").toBeNull();
    expectListed(seen, expected, this.sort, m, real);
    await expectState(m, real, this.user);
  }
  toString(): string {
    const filter = Object.keys(this.filter).length === 0 ? "" : `, filter=${JSON.stringify(this.filter)}`;
    return `list(${this.user}, ${this.via}, status=${this.status}, sort=${this.sort}, q=${describeSearch(this.searchSpec)}, pageSize=${this.pageSize}${filter})`;
  }
}

// --- Arbitraries ------------------------------------------------------------------

/**
 * Text made of ASCII, LIKE's special characters, quotes, and characters with
 * no ASCII case partner (so the model's ASCII case folding is the database's).
 */
const textUnit = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(..."abcxyzABCXYZ0189 -.") },
  { weight: 2, arbitrary: fc.constantFrom("%", "_", "\\", "'", '"', "*", "?") },
  { weight: 2, arbitrary: fc.constantFrom("é", "ß", "日本", "🙂", "Ω", "\u00a0", "\t", "\n", "\u3000") },
);
const text = (maxLength: number) => fc.string({ unit: textUnit, maxLength });

const validTitle = fc.oneof(
  { weight: 8, arbitrary: text(24).filter((title) => normalTitle(title) !== undefined) },
  { weight: 1, arbitrary: fc.constantFrom(`  ${"T".repeat(200)}  `, "🙂".repeat(200), "x") },
);
const invalidTitle = fc.constantFrom("", "   ", "\t\n", "\u00a0", "T".repeat(201), "🙂".repeat(201), "a\u0000b");
const title = fc.oneof({ weight: 9, arbitrary: validTitle }, { weight: 1, arbitrary: invalidTitle });

const description = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 6, arbitrary: text(30) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "",
      "  ",
      "D".repeat(1000),
      ` ${"D".repeat(1000)} `,
      "é".repeat(1000),
      "D".repeat(1001),
      "🙂".repeat(1001),
      "\u0000",
    ),
  },
);

// Due dates: calendar dates and instants in the years 2000 to 2100.

const dayMs = 86_400_000;
const firstDay = Date.UTC(2000, 0, 2) / dayMs;
const lastDay = Date.UTC(2100, 11, 30) / dayMs;
/** Days that tasks and filters share, so that all-day and timed tasks tie and filters find them. */
const commonDays = ["2026-12-24", "2026-12-25", "2026-12-23", "2024-02-29", "2000-01-01", "2100-12-31"];
const validDate = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...commonDays) },
  {
    weight: 2,
    arbitrary: fc
      .integer({ min: firstDay, max: lastDay })
      .map((day) => new Date(day * dayMs).toISOString().slice(0, 10)),
  },
);
/** Instants written with offsets; some are the same instant in two spellings, or midnight of a common day somewhere. */
const commonInstants = [
  "2026-12-24T00:00:00Z", // midnight UTC of the 24th: where its all-day tasks sort
  "2026-12-24T01:00:00+01:00", // the same instant
  "2026-12-24T00:00:00.000+00:00",
  "2026-12-24T17:00:00+01:00",
  "2026-12-23T10:00:00Z", // midnight of the 24th in Kiritimati (UTC+14)
  "2026-12-24T10:00:00.000Z", // midnight of the 25th in Kiritimati; 00:00 of the 24th in Adak (UTC-10)
  "2026-12-24T09:59:59.999Z",
  "2026-12-24T05:30+05:30", // midnight UTC again, in Kolkata's offset, without seconds
  "2026-12-25T09:59:59.999-10:00",
  "2100-12-31T23:59:59.999Z",
  "2000-01-01T14:00:00+14:00",
];
/** UTC offsets in minutes: whole hours, half and three-quarter hours, the extremes. */
const offsets = [0, 60, -300, 330, 345, 840, -570, -660];
function instantText(instant: number, offset: number, precision: "minute" | "second" | "ms", zulu: boolean): string {
  const wall = new Date(instant + offset * 60_000).toISOString();
  const body = wall.slice(0, precision === "minute" ? 16 : precision === "second" ? 19 : 23);
  if (offset === 0 && zulu) return `${body}Z`;
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${body}${offset < 0 ? "-" : "+"}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
const validInstant = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...commonInstants) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: firstDay * dayMs, max: (lastDay + 1) * dayMs - 1 }),
        fc.constantFrom(...offsets),
        fc.constantFrom("minute" as const, "second" as const, "ms" as const),
        fc.boolean(),
      )
      .map((args) => instantText(...args)),
  },
  // Midnight UTC of a day: the same sort key as that day's all-day tasks.
  { weight: 1, arbitrary: validDate.map((date) => `${date}T00:00:00Z`) },
);
const invalidDate = fc.constantFrom("2026-02-30", "2026-13-01", "26-12-24", "2026-12-24T00:00:00Z", "tomorrow", "");
const invalidInstant = fc.constantFrom(
  "2026-12-24T10:00:00", // no offset
  "2026-12-24 10:00Z",
  "2026-02-30T10:00:00Z",
  "2026-12-24T24:00:00Z",
  "2026-12-24",
  "",
);

const dueSpec: fc.Arbitrary<DueSpec | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: validDate.map((date) => ({ date })) },
  { weight: 3, arbitrary: validInstant.map((at) => ({ at })) },
  // As a client sends a whole task back: the other form null.
  {
    weight: 1,
    arbitrary: fc.oneof(
      validDate.map((date) => ({ date, at: null })),
      validInstant.map((at) => ({ date: null, at })),
    ),
  },
  // Clearing REST's way (for GraphQL, neither form: invalid).
  { weight: 1, arbitrary: fc.constantFrom({ date: null }, { at: null }, { date: null, at: null }) },
  // Invalid: both forms, neither (for REST, nothing sent), or a value that is not one.
  {
    weight: 1,
    arbitrary: fc.oneof(
      fc.record({ date: validDate, at: validInstant }),
      fc.constant({}),
      invalidDate.map((date) => ({ date })),
      invalidInstant.map((at) => ({ at })),
    ),
  },
);

const prioritySpec: fc.Arbitrary<PrioritySpec | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 10, arbitrary: fc.constantFrom(...priorities) },
  // As is: none at all, or one in another case (which only REST takes), or GraphQL's spelling.
  {
    weight: 1,
    arbitrary: fc.constantFrom("Critical", "urgent!", "", "High", "nOnE", "URGENT").map((raw) => ({ raw })),
  },
);

/**
 * Label names: case and spacing variants of a few labels, and one in both
 * Unicode normal forms, so that names are matched ignoring case. (Their keys
 * sort alike in any collation, so the model can order them.)
 */
const labelPool = [
  "home",
  "Home",
  "HOME",
  " home ",
  "work",
  "WORK",
  "Work",
  "errands",
  "Errands",
  "Zürich",
  "zürich",
  "ZÜRICH",
  "Zu\u0308rich",
  "L".repeat(50),
  ` ${"l".repeat(50)} `,
];
const invalidLabel = fc.constantFrom("", "   ", "a,b", "L".repeat(51), "nul\u0000");
const tag = (i: number, upper: boolean) => `${upper ? "TAG" : "tag"}${String(i).padStart(2, "0")}`;
/**
 * 17 to 21 labels at once, sometimes with one twice in another case: 21
 * different ones are too many, and so are fewer added to a task that has some.
 */
const manyLabels = fc
  .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 17, max: 21 }), fc.boolean())
  .map(([start, count, again]) => [
    ...Array.from({ length: count }, (_, i) => tag(start + i, false)),
    ...(again ? [tag(start, true)] : []),
  ]);
/** A run of 16 to 20 tags, some in upper case: on a task with a few labels, more than 20. */
const tagRun = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 16, max: 20 }))
  .map(([start, count]) => Array.from({ length: count }, (_, i) => tag(start + i, i % 5 === 4)));
const someLabels = (minLength: number) => fc.array(fc.constantFrom(...labelPool), { minLength, maxLength: 4 });
const labelNamesArb = (minLength: number, manyWeight = 1) =>
  fc.oneof(
    { weight: 12, arbitrary: someLabels(minLength) },
    { weight: manyWeight, arbitrary: manyLabels },
    { weight: 1, arbitrary: fc.tuple(someLabels(0), invalidLabel).map(([names, bad]) => [...names, bad]) },
  );
const labelsSpec: fc.Arbitrary<string[] | null | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 7, arbitrary: labelNamesArb(0) },
);

/** Only the fields sent, so that a command prints as what it sends. */
function planningOf(due: DueSpec | undefined, priority: PrioritySpec | undefined, labels: string[] | null | undefined) {
  const planning: Planning = {};
  if (due !== undefined) planning.due = due;
  if (priority !== undefined) planning.priority = priority;
  if (labels !== undefined) planning.labels = labels;
  return planning;
}
const planning: fc.Arbitrary<Planning> = fc.oneof(
  // A legacy client's request, without the new fields.
  { weight: 1, arbitrary: fc.constant({}) },
  { weight: 2, arbitrary: fc.tuple(dueSpec, prioritySpec, labelsSpec).map((args) => planningOf(...args)) },
);
/** Due date, priority and labels as both APIs take them (null clears the due date). */
const validPlanning: fc.Arbitrary<Planning> = fc.oneof(
  { weight: 1, arbitrary: fc.constant({}) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.oneof(
          { weight: 3, arbitrary: fc.constant(undefined) },
          { weight: 1, arbitrary: fc.constant(null) },
          { weight: 2, arbitrary: validDate.map((date) => ({ date })) },
          { weight: 2, arbitrary: validInstant.map((at) => ({ at })) },
          { weight: 1, arbitrary: validInstant.map((at) => ({ date: null, at })) },
        ),
        fc.option(fc.constantFrom(...priorities), { nil: undefined, freq: 3 }),
        fc.option(someLabels(0), { nil: undefined, freq: 3 }),
      )
      .map((args) => planningOf(...args)),
  },
);
/** The planning fields a command sends through `via`: see badEnumsToGraphQL. */
function sendable(via: Via, fields: Planning): Planning {
  const { priority, ...others } = fields;
  const bad = typeof priority === "object" && priority !== null && !priorities.some((name) => name === priority.raw);
  return bad && via === "graphql" && !badEnumsToGraphQL ? others : fields;
}
/** Few distinct values, some equal once normalized, for creates with idempotency keys. */
const keyedPlanning: fc.Arbitrary<Planning> = fc
  .tuple(
    fc.constantFrom<DueSpec | undefined>(
      undefined,
      { date: "2026-12-24" },
      { at: "2026-12-24T17:00:00+01:00" },
      { at: "2026-12-24T16:00:00.000Z" },
    ),
    fc.constantFrom<PrioritySpec | undefined>(undefined, "NONE", "HIGH"),
    fc.constantFrom<string[] | undefined>(undefined, [], ["home"], ["HOME"], ["home", "work"], ["Work", " home "]),
  )
  .map((args) => planningOf(...args));

// Alice acts most, so that her lists grow long enough to page through.
const user = fc.constantFrom<UserName>("alice", "alice", "alice", "bob", "bob", "carol");
const via = fc.constantFrom<Via>("rest", "graphql");
const target: fc.Arbitrary<Target> = fc.oneof(
  // The newest task (often just made, by this user or another one).
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("latest" as const), fallback: fc.uuid() }) },
  { weight: 10, arbitrary: fc.record({ kind: fc.constant("own" as const), index: fc.nat(), fallback: fc.uuid() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("anyKnown" as const), index: fc.nat(), fallback: fc.uuid() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("missing" as const), id: fc.uuid() }) },
);
const precondition: fc.Arbitrary<Precondition> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: "none" as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: "any" as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("current" as const), weak: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("stale" as const),
      offset: fc.integer({ min: 1, max: 3 }),
      below: fc.boolean(),
      weak: fc.boolean(),
    }),
  },
);

const search: fc.Arbitrary<Search> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: "none" as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant("text" as const),
      text: fc.string({ unit: fc.constantFrom(..."abcxyzABCXYZ0189 -%_\\'"), maxLength: 4 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("fromTitle" as const),
      index: fc.nat(),
      start: fc.nat(),
      length: fc.integer({ min: 1, max: 6 }),
      upper: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
    }),
  },
);

/** A condition, present one time in `oneIn`. */
const sometimes = <T>(oneIn: number, arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arbitrary });
const filterLabels = fc.array(fc.constantFrom(...labelPool, "nope"), { minLength: 1, maxLength: 3 });
/** Zones far apart and with odd offsets, daylight saving or none. */
const timeZone = fc.constantFrom(
  "UTC",
  "Europe/Berlin",
  "america/adak", // zone names in any case
  "America/Adak",
  "Pacific/Kiritimati",
  "Asia/Kolkata",
);
const conditions = {
  priorities: fc.uniqueArray(fc.constantFrom(...priorities), { minLength: 1, maxLength: 3 }),
  anyOf: filterLabels,
  allOf: filterLabels,
  hasDue: fc.boolean(),
  overdue: fc.boolean(),
  dueOn: fc.constantFrom(...commonDays),
  dueAfter: fc.constantFrom(...commonInstants),
  dueBefore: fc.constantFrom(...commonInstants),
};
/** Only the keys present, so that a command prints as what it sends. */
const present = <T extends object>(value: T) =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
const listFilter: fc.Arbitrary<ListFilter> = fc
  .tuple(
    fc.oneof(
      // Most lists have one condition or none, so that they find something.
      { weight: 2, arbitrary: fc.constant({}) },
      {
        weight: 4,
        arbitrary: fc.oneof(
          ...Object.entries(conditions).map(([name, arbitrary]) =>
            (arbitrary as fc.Arbitrary<unknown>).map((value) => ({ [name]: value }) as ListFilter),
          ),
        ),
      },
      { weight: 1, arbitrary: fc.record(conditions, { requiredKeys: [] }) },
    ),
    sometimes(2, timeZone),
    sometimes(3, fc.constant(true)),
  )
  .map(([filter, zone, repeat]) => present({ ...filter, timeZone: zone, repeat }) as ListFilter);

/** A small pool of keys, shared by the users, so that keys are reused within and across users. */
const idempotencyKey = fc.constantFrom("key-1", "key-2");

/** An arbitrary listed twice: its commands come twice as often. */
const twice = <T>(arbitrary: T): [T, T] => [arbitrary, arbitrary];

const commandArbitraries: fc.Arbitrary<ModelCommand>[] = [
  ...twice(
    fc
      .tuple(via, fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: validTitle }))
      .map(([retryVia, otherTitle]) => new RetryCreateCommand(retryVia, otherTitle)),
  ),
  ...twice(
    fc
      .tuple(
        user,
        via,
        // Few distinct inputs, some equal once normalized (" same " is "same"; "" and null are no description).
        fc.constantFrom("same", " same ", "other"),
        fc.constantFrom(undefined, null, "", "d", " d "),
        keyedPlanning,
        idempotencyKey,
      )
      .map((args) => new CreateCommand(...args)),
  ),
  fc
    .tuple(user, via, title, description, planning)
    .map(([u, v, t, d, p]) => new CreateCommand(u, v, t, d, sendable(v, p))),
  ...twice(
    fc
      .tuple(user, via, validTitle, description, planning)
      .map(([u, v, t, d, p]) => new CreateCommand(u, v, t, d, sendable(v, p))),
  ),
  ...twice(
    fc
      .tuple(
        user,
        via,
        target,
        precondition,
        fc.oneof({ weight: 8, arbitrary: title }, { weight: 1, arbitrary: fc.constantFrom(null, undefined) }),
        description,
        fc.constantFrom(undefined, undefined, true, false, null),
        planning,
      )
      .map(([u, v, target, pre, t, d, c, p]) => new UpdateCommand(u, v, target, pre, t, d, c, sendable(v, p))),
  ),
  // Updates that are valid input, of the user's own tasks, most of them changing the due date, priority or labels.
  fc
    .tuple(
      user,
      via,
      fc.record({ kind: fc.constant("own" as const), index: fc.nat(), fallback: fc.uuid() }),
      precondition,
      validTitle,
      fc.constantFrom(undefined, null, "d", " d "),
      fc.constantFrom(undefined, undefined, true, false),
      validPlanning,
    )
    .map((args) => new UpdateCommand(...args)),
  ...twice(
    fc
      .tuple(user, fc.constantFrom("add" as const, "remove" as const), target, precondition, labelNamesArb(1, 3))
      .map((args) => new TaskLabelsCommand(...args)),
  ),
  // Many labels on one of the user's own tasks: again and again, they come to more than a task can carry.
  fc
    .tuple(
      user,
      fc.constant("add" as const),
      fc.record({ kind: fc.constant("own" as const), index: fc.nat(), fallback: fc.uuid() }),
      fc.constant({ kind: "none" as const }),
      tagRun,
    )
    .map((args) => new TaskLabelsCommand(...args)),
  fc.tuple(user, via, target, precondition, fc.boolean()).map((args) => new SetCompletedCommand(...args)),
  fc.tuple(user, via, target, precondition).map((args) => new ToggleCommand(...args)),
  ...twice(fc.tuple(user, via, target, precondition).map((args) => new DeleteCommand(...args))),
  fc.tuple(user, via, target).map((args) => new GetCommand(...args)),
  ...twice(
    fc
      .tuple(
        user,
        via,
        fc.constantFrom<Status>("all", "open", "completed"),
        fc.constantFrom<SortKey>(...(Object.keys(sorts) as SortKey[])),
        search,
        fc.integer({ min: 1, max: 3 }),
        listFilter,
      )
      .map((args) => new ListCommand(...args)),
  ),
];

/** Tasks each run starts with (so that lists have something to page through), made with REST. */
const initialTasks = fc.array(
  fc.record({
    user,
    title: validTitle,
    description: fc.option(text(30), { nil: null }),
    completed: fc.boolean(),
    planning: fc
      .tuple(
        fc.oneof(
          fc.constant(undefined),
          validDate.map((date) => ({ date })),
          validInstant.map((at) => ({ at })),
        ),
        fc.option(fc.constantFrom(...priorities), { nil: undefined }),
        someLabels(0),
      )
      .map((args) => planningOf(...args)),
  }),
  { maxLength: 8 },
);
type InitialTask = {
  user: UserName;
  title: string;
  description: string | null;
  completed: boolean;
  planning: Planning;
};

async function seedTask(m: Model, real: Real, initial: InitialTask): Promise<void> {
  const { user: owner, title, description, completed, planning: fields } = initial;
  const token = real.tokens[owner];
  const planned = plannedOf(fields, "rest");
  if (planned === undefined) throw new Error(`invalid initial task: ${JSON.stringify(fields)}`);
  const body = { title, description, ...restPlanning(fields) };
  let seen = fromRest(taskOf(await rest(real.t, "POST", tasksPath(real, owner), { token, body }), 201));
  learnLabels(m, owner, planned.labels ?? [], seen);
  if (completed) {
    const res = await rest(real.t, "PATCH", `${taskPath(real, owner, seen.id)}/complete`, { token });
    seen = fromRest(taskOf(res));
  }
  const task: ModelTask = {
    id: seen.id,
    owner,
    title: normalTitle(title) ?? "",
    description: normalDescription(description) ?? null,
    isCompleted: completed,
    completedAt: seen.completedAt,
    createdAt: seen.createdAt,
    version: completed ? 2 : 1,
    ...(planned.due ?? noDue),
    priority: planned.priority ?? "NONE",
    labels: sortedKeys(planned.labels ?? []),
  };
  expectSeen(seen, task, m, real);
  m.tasks.set(task.id, task);
  m.known.push(task.id);
}

/**
 * Counterexamples found by this test, kept as examples that run before the
 * random ones: a retried keyed create whose task was deleted in between
 * (REST create, delete, GraphQL retry selecting `owner`).
 */
const regressions: [ModelCommand[], InitialTask[]][] = [
  [
    [
      new CreateCommand("alice", "rest", "same", undefined, {}, "key-1"),
      new DeleteCommand(
        "alice",
        "rest",
        { kind: "latest", fallback: "00000000-0000-4000-8000-000000000000" },
        { kind: "none" },
      ),
      new RetryCreateCommand("graphql", undefined),
    ],
    [],
  ],
];

// --- The test ---------------------------------------------------------------------

describe("model: random command sequences through REST and GraphQL match an in-memory model", () => {
  let t: TestApp;
  let real: Real;

  beforeAll(async () => {
    t = await startTestApp();
    const ids = { alice: "model-alice", bob: "model-bob", carol: "model-carol" };
    const [alice, bob, carol] = await Promise.all(userNames.map((name) => mintToken(ids[name])));
    if (alice === undefined || bob === undefined || carol === undefined) throw new Error("no tokens");
    real = { t, ids, tokens: { alice, bob, carol } };
  });
  afterAll(() => t.close());

  it(`holds for ${numRuns} runs of up to ${maxCommands} commands`, async () => {
    let commandsRun = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.commands(commandArbitraries, {
          maxCommands,
          // Sequences of any length up to maxCommands, not only short ones.
          size: "max",
          ...(replayPath === undefined ? {} : { replayPath }),
        }),
        initialTasks,
        async (commands, initial) => {
          // Every run starts from no tasks and no labels at all, then a few made through the API.
          const userIds = Object.values(real.ids);
          await t.db.prisma.task.deleteMany({ where: { userId: { in: userIds } } });
          await t.db.prisma.label.deleteMany({ where: { userId: { in: userIds } } });
          await t.db.prisma.idempotencyKey.deleteMany({ where: { userId: { in: userIds } } });
          const model: Model = {
            tasks: new Map(),
            known: [],
            keys: new Map(),
            labels: { alice: new Map(), bob: new Map(), carol: new Map() },
            reads: 0,
          };
          for (const task of initial) await seedTask(model, real, task);
          await expectState(model, real, "alice");
          await fc.asyncModelRun(() => ({ model, real }), commands);
          commandsRun += [...commands].length;

          // And the database itself agrees with the model, row by row.
          const rows = await t.db.prisma.task.findMany({
            where: { userId: { in: userIds } },
            include: { labels: { include: { label: true } } },
          });
          expect(rows.map((row) => row.id).sort()).toEqual([...model.tasks.keys()].sort());
          for (const row of rows) {
            const task = model.tasks.get(row.id);
            if (task === undefined) throw new Error(`a row the model does not have: ${row.id}`);
            expect(row).toMatchObject({
              userId: real.ids[task.owner],
              title: task.title,
              description: task.description,
              isCompleted: task.isCompleted,
              version: task.version,
              priority: rankOf(task.priority),
            });
            expect(row.completedAt !== null).toBe(row.isCompleted);
            // An all-day task is due at midnight UTC of its date.
            const dueAt = task.dueDate === null ? task.dueAt : new Date(dayStart(task.dueDate)).toISOString();
            expect(row.dueAt?.toISOString() ?? null).toBe(dueAt);
            if (row.dueAt !== null) expect(row.dueAllDay).toBe(task.dueDate !== null);
            expect(row.labels.map(({ label }) => [label.userId, label.nameKey]).sort()).toEqual(
              task.labels.map((key) => [real.ids[task.owner], key]),
            );
          }
          const labelRows = await t.db.prisma.label.findMany({ where: { userId: { in: userIds } } });
          const byOwnerAndKey = (a: { userId: string; nameKey: string }, b: { userId: string; nameKey: string }) =>
            a.userId === b.userId ? (a.nameKey < b.nameKey ? -1 : 1) : a.userId < b.userId ? -1 : 1;
          expect(
            labelRows
              .map(({ id, userId, name, nameKey, color }) => ({ id, userId, name, nameKey, color }))
              .sort(byOwnerAndKey),
          ).toEqual(
            userNames
              .flatMap((owner) =>
                [...model.labels[owner]].map(([nameKey, label]) => ({
                  id: label.id ?? expect.any(String),
                  userId: real.ids[owner],
                  name: label.name,
                  nameKey,
                  color: null,
                })),
              )
              .sort(byOwnerAndKey),
          );
        },
      ),
      {
        numRuns,
        verbose: 1,
        // Sequences this test once found failing, run first every time (paths printed on failure count them).
        examples: regressions,
        ...(seed === undefined ? {} : { seed }),
        ...(path === undefined ? {} : { path }),
      },
    );
    // The runs really ran commands (a generator that produced only empty sequences would prove nothing).
    expect(commandsRun).toBeGreaterThan(0);
  }, 300_000);
});
