import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TypedDocumentString } from "./gql/graphql.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { optionalInt, positiveInt } from "./helpers/env.js";
import {
  CreateTask,
  DeleteTask,
  GetTask,
  ListTasksWithViewer,
  SetTaskCompleted,
  ToggleTaskCompleted,
  UpdateTask,
  ViewerWithTasks,
} from "./helpers/operations.js";
import { listOf, type RestResponse, rest, taskOf } from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * A fuzz pass over every REST route and every GraphQL operation: malformed
 * ids, bodies, query parameters, variables, raw queries and headers, made by
 * fast-check. Whatever comes in, the answer must be
 *
 * - never a 5xx (nor a GraphQL INTERNAL_SERVER_ERROR inside a 200),
 * - never a stack trace, SQL, Prisma or driver text,
 * - for REST, one the OpenAPI contract documents (every call goes through `rest()`),
 * - never another user's data: a victim's task is seeded first; its title and
 *   description (which the attacker never sends) must never appear, no object
 *   in any answer may carry its id or its owner's id, and at the end its row
 *   (and its idempotency key) must be exactly as they were,
 * - a task accepted holds exactly the text sent (trimmed): text the database
 *   cannot store as given must be refused, not changed.
 *
 * Half the cases of each route or operation are random in every part; the
 * other half are right in everything but their text (the attacker's own
 * token, path and task), so that odd values reach the resolvers and the
 * database. Signed tokens with claims of every type get their own property.
 * GraphiQL (an HTML page for a browser's GET) is the one answer not checked
 * for stack-trace-like text: its bundled script is code, not a trace.
 *
 * FUZZ_RUNS runs per route/operation (default 200: about 3,500 requests,
 * 10 to 25 s); FUZZ_SEED replays a seed that fast-check printed (with
 * FUZZ_PATH for its path).
 */

const runs = positiveInt("FUZZ_RUNS", 200);
const seed = optionalInt("FUZZ_SEED");
const path = process.env.FUZZ_PATH;
const assertOptions = { numRuns: runs, verbose: 1, ...(seed === undefined ? {} : { seed }), ...(path ? { path } : {}) };

// --- The world: an attacker, a victim, and values that stand for them -------------

interface World {
  t: TestApp;
  attacker: { id: string; token: string };
  victim: { id: string; taskId: string; title: string; description: string; createdAt: string };
  /** Tokens that must all be refused (401), the victim's name forged in some. */
  badTokens: Record<"wrongSecret" | "expired" | "unsigned" | "victimWrongSecret" | "notYetValid", string>;
  /** Cursors of real lists of the attacker, and one made from the victim's task. */
  cursors: string[];
}

let world: World;

/**
 * A value that is built only when sent, and printed short in counterexamples:
 * huge strings and deep nestings, and references to the world (ids, tokens).
 */
class Big {
  readonly parts: readonly (string | readonly [string, number])[];
  constructor(...parts: (string | readonly [string, number])[]) {
    this.parts = parts;
  }
  build(): string {
    return this.parts.map((part) => (typeof part === "string" ? part : part[0].repeat(part[1]))).join("");
  }
  toString(): string {
    const shown = this.parts.map((part) =>
      typeof part === "string" ? JSON.stringify(part) : `${JSON.stringify(part[0])} x ${part[1]}`,
    );
    return `Big(${shown.join(" + ")})`;
  }
  [fc.toStringMethod](): string {
    return this.toString();
  }
}

type RefName =
  | "victimTask"
  | "victimTaskUpper"
  | "victimTaskPadded"
  | "victimUser"
  | "attackerTask"
  | "attackerUser"
  | "realCursor"
  | "victimCursor";

class Ref {
  constructor(
    readonly name: RefName,
    readonly index = 0,
  ) {}
  toString(): string {
    return `Ref(${this.name})`;
  }
  [fc.toStringMethod](): string {
    return this.toString();
  }
}

/** The attacker's live task ids; writes may delete them, so they are made again when needed. */
let attackerTasks: string[] = [];

async function ensureAttackerTasks(): Promise<void> {
  const live = await world.t.db.prisma.task.findMany({ where: { userId: world.attacker.id }, select: { id: true } });
  attackerTasks = live.map((task) => task.id);
  while (attackerTasks.length < 2) {
    const task = await world.t.db.prisma.task.create({
      data: { userId: world.attacker.id, title: `attacker task ${attackerTasks.length}` },
    });
    attackerTasks.push(task.id);
  }
}

function resolveRef(ref: Ref): string {
  switch (ref.name) {
    case "victimTask":
      return world.victim.taskId;
    case "victimTaskUpper":
      return world.victim.taskId.toUpperCase();
    case "victimTaskPadded":
      return ` ${world.victim.taskId}\n`;
    case "victimUser":
      return world.victim.id;
    case "attackerTask":
      return attackerTasks[ref.index % Math.max(attackerTasks.length, 1)] ?? randomUUID();
    case "attackerUser":
      return world.attacker.id;
    case "realCursor":
      return world.cursors[ref.index % Math.max(world.cursors.length, 1)] ?? "";
    case "victimCursor":
      return cursorOf("c", world.victim.createdAt, world.victim.taskId);
  }
}

/** Big and Ref values replaced by what they stand for, anywhere in a JSON-like value. */
function materialize(value: unknown): unknown {
  if (value instanceof Big) return value.build();
  if (value instanceof Ref) return resolveRef(value);
  if (Array.isArray(value)) return value.map(materialize);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      // defineProperty: a "__proto__" key stays a plain key, as JSON.parse would make it.
      Object.defineProperty(out, key, {
        value: materialize(inner),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function text(value: string | Big | Ref): string {
  return typeof value === "string" ? value : value instanceof Big ? value.build() : resolveRef(value);
}

function cursorOf(tag: unknown, value: unknown, id: unknown): string {
  return Buffer.from(JSON.stringify([tag, value, id])).toString("base64url");
}

// --- Checks every answer must pass ------------------------------------------------

/** Things a response must never show (unless the request itself said them, and the answer only echoes it). */
const internals: [string, RegExp][] = [
  ["Prisma", /prisma/i],
  ["SQL", /SELECT /],
  ["SQL", /INSERT /],
  ["SQL", /UPDATE tasks/],
  ["SQL", /DELETE FROM/],
  ["SQL", /RETURNING /],
  ["a stack trace", / {4}at /],
  ["a stack trace", /\\n\s+at /],
  ["node_modules", /node_modules/],
  ["a source path", /\/src\/[\w/-]+\.ts/],
  ["a database error", /invalid byte sequence|violates|syntax for type|driverAdapter|PostgresError|pglite/i],
  ["an error object", /"stack"|"originalError"|"exception"/],
];

/** Ids that no answer to the attacker may carry as an object's id. */
function forbiddenIds(): Set<string> {
  return new Set([world.victim.taskId, world.victim.id]);
}

/** Walks a JSON answer: no object may carry the victim's task id or user id as an id. */
function expectNoVictimIds(value: unknown, where: string): void {
  if (Array.isArray(value)) {
    for (const item of value) expectNoVictimIds(item, where);
    return;
  }
  if (typeof value !== "object" || value === null) return;
  const forbidden = forbiddenIds();
  for (const [key, inner] of Object.entries(value)) {
    if (
      ["id", "user_id", "deletedTaskId", "userId"].includes(key) &&
      typeof inner === "string" &&
      forbidden.has(inner.toLowerCase())
    ) {
      throw new Error(`${where}: the answer carries the victim's ${key} ${inner}`);
    }
    expectNoVictimIds(inner, where);
  }
}

function excerpt(text: string): string {
  return text.length > 1500 ? `${text.slice(0, 1500)}... (${text.length} characters)` : text;
}

/** The checks every answer, REST or GraphQL, must pass. */
function expectSafe(where: string, status: number, responseText: string, body: unknown, requestText: string): void {
  if (status >= 500) throw new Error(`${where}: answered ${status}: ${excerpt(responseText)}`);
  for (const [name, pattern] of internals) {
    if (pattern.test(responseText) && !pattern.test(requestText)) {
      throw new Error(`${where}: the answer shows ${name} (${pattern}): ${excerpt(responseText)}`);
    }
  }
  for (const secret of [world.victim.title, world.victim.description]) {
    if (responseText.includes(secret))
      throw new Error(`${where}: the answer shows the victim's task: ${excerpt(responseText)}`);
  }
  expectNoVictimIds(body, where);
}

/**
 * A task the service accepted holds exactly what was sent: the title trimmed,
 * the description trimmed (empty is none). Text the database cannot store as
 * sent must be refused, not silently changed.
 */
function expectStoredAsSent(where: string, sent: unknown, stored: unknown): void {
  if (typeof sent !== "object" || sent === null || typeof stored !== "object" || stored === null) return;
  const { title, description } = sent as Record<string, unknown>;
  const task = stored as { title?: unknown; description?: unknown };
  if (typeof title === "string" && task.title !== title.trim()) {
    throw new Error(`${where}: sent the title ${JSON.stringify(title)}, the task has ${JSON.stringify(task.title)}`);
  }
  if (typeof description === "string") {
    const expected = description.trim() === "" ? null : description.trim();
    if (task.description !== expected) {
      throw new Error(
        `${where}: sent the description ${JSON.stringify(description)}, the task has ${JSON.stringify(task.description)}`,
      );
    }
  }
}

// --- Arbitraries: strings, ids, JSON ------------------------------------------------

/** Characters a header value may hold (the fetch API refuses NUL, CR, LF and anything above U+00FF). */
const headerChar = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)),
  fc.integer({ min: 0x80, max: 0xff }).map((code) => String.fromCharCode(code)),
  fc.constant("\t"),
);
const headerText = (maxLength: number) => fc.string({ unit: headerChar, maxLength });

const specialStrings = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\u0000\u0000\u0000",
  "../",
  "../../../etc/passwd",
  "..%2F..%2F",
  "%00",
  "%",
  "%zz",
  "%u0000",
  "' OR '1'='1",
  "'; drop table tasks; --",
  "1 union select id, title from tasks --",
  '" or ""="',
  "1; select pg_sleep(10)",
  "$1",
  "::uuid",
  "\\",
  "\\\\x00",
  "_%_%",
  "null",
  "undefined",
  "NaN",
  "Infinity",
  "-1",
  "0",
  "1e309",
  "0x1F",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "{}",
  "[]",
  "<script>alert(1)</script>",
  "\r\n",
  "\u202e",
  "\ufeff",
  "\u00a0",
  "🙂",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
  "\ud800",
  "a\udfffb",
  "\udc00\udc00",
  "a\udfff\udfffb",
  "\ud800\ud800",
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
  "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
  "00000000-0000-0000-0000-00000000000",
  "00000000-0000-0000-0000-0000000000000",
  "{00000000-0000-0000-0000-000000000000}",
  "00000000000000000000000000000000",
  "2020-01-01T00:00:00.000Z",
  "-271821-04-20T00:00:00.000Z",
  "+275760-09-13T00:00:00.000Z",
  "0000-01-01T00:00:00.000Z",
];

/** Text that is valid JSON but awkward for a database: NUL, unpaired surrogates, BOM, controls. */
const awkwardText = fc
  .tuple(
    fc.constantFrom("", "a", "title "),
    fc.constantFrom(
      "\u0000",
      "\ud800",
      "\udc00",
      "\udc00\udc00",
      "\udfff\udfff",
      "\ud800\ud800",
      "\ufeff",
      "\u202e",
      "\u0001",
      "\u001b[31m",
    ),
    fc.constantFrom("", "b", " tail"),
  )
  .map(([head, middle, tail]) => head + middle + tail);

/** Malformed or hostile text of every kind. */
const weirdString: fc.Arbitrary<string | Big> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...specialStrings) },
  { weight: 2, arbitrary: awkwardText },
  { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc.string({ unit: fc.constantFrom("\ud800", "\udc00", "a", "\u0000", "%", "'"), maxLength: 8 }),
  },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()).map(String) },
  { weight: 1, arbitrary: fc.uuid().map((id) => `${id}' OR '1'='1`) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("x", "é", "🙂", "\u0000", "%", " "), fc.integer({ min: 201, max: 70_000 }))
      .map(([head, times]) => new Big([head, times])),
  },
);

/** Ids: the attacker's own, the victim's (as is, upper case, padded), random UUIDs, and garbage. */
const idValue: fc.Arbitrary<string | Big | Ref> = fc.oneof(
  { weight: 6, arbitrary: fc.nat().map((index) => new Ref("attackerTask", index)) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(new Ref("victimTask"), new Ref("victimTaskUpper"), new Ref("victimTaskPadded")),
  },
  { weight: 1, arbitrary: fc.uuid() },
  { weight: 4, arbitrary: weirdString },
);

/** Any JSON value, with the awkward ones made likely. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      null,
      true,
      false,
      0,
      -0,
      -1,
      1.5,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 53 + 2,
      1e308,
      "",
      "1",
      "true",
      [],
      {},
      [null],
      { id: "x" },
    ),
  },
  { weight: 2, arbitrary: weirdString },
  { weight: 1, arbitrary: fc.array(weirdString, { maxLength: 3 }) },
);

const title: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 2, arbitrary: awkwardText },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }) },
  { weight: 3, arbitrary: weirdString },
  { weight: 2, arbitrary: anyJson },
);

const intValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: -5, max: 5 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(0, 1, 2, 99, 100, 101, 1000, 1001, 2 ** 31 - 1, 2 ** 31, -(2 ** 31), 2 ** 53, 1.5, -0),
  },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 2, arbitrary: anyJson },
);

const boolValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constantFrom("true", "false", 0, 1, null) },
  { weight: 1, arbitrary: anyJson },
);

/** Cursors: real ones, one pointing at the victim's task, crafted ones of every shape, and garbage. */
const cursorValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.nat().map((index) => new Ref("realCursor", index)) },
  { weight: 1, arbitrary: fc.constant(new Ref("victimCursor")) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom<unknown>("c", "u", "t", "x", 1, null),
        fc.oneof(
          fc.constantFrom<unknown>(
            "2020-01-01T00:00:00.000Z",
            "2020-01-01T00:00:00Z",
            "+275760-09-13T00:00:00.000Z",
            "-000001-01-01T00:00:00.000Z",
            "0000-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "not a date",
            "",
            "a\u0000b",
            "\ud800",
            0,
            null,
            [],
          ),
          fc.string({ unit: "binary", maxLength: 20 }),
          awkwardText,
          fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
        ),
        fc.oneof(
          fc.uuid(),
          fc.constantFrom<unknown>(new Ref("victimTask"), new Ref("attackerTask"), "x", "' OR 1=1 --", 1, null),
        ),
      )
      .map(([tag, value, id]) => ({ tag, value, id })),
  },
  { weight: 1, arbitrary: fc.base64String({ maxLength: 60 }) },
  { weight: 2, arbitrary: weirdString },
  { weight: 1, arbitrary: anyJson },
);

/** A crafted cursor spec becomes its base64url text when sent. */
function cursorText(value: unknown): unknown {
  if (typeof value === "object" && value !== null && !(value instanceof Big) && !(value instanceof Ref)) {
    const spec = value as { tag?: unknown; value?: unknown; id?: unknown };
    if ("tag" in spec && "value" in spec && "id" in spec) {
      return cursorOf(spec.tag, spec.value, spec.id instanceof Ref ? resolveRef(spec.id) : spec.id);
    }
  }
  return materialize(value);
}

/** A few extra fields of any name and value. */
const extraFields = fc.dictionary(
  fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom("__proto__", "constructor", "id", "user_id", "userId", "version"),
  ),
  anyJson,
  { maxKeys: 3 },
);

// --- Arbitraries: headers -------------------------------------------------------------

type AuthSpec =
  | { kind: "attacker"; scheme: string }
  | { kind: "none" }
  | { kind: "raw"; value: string }
  | { kind: "bad"; token: keyof World["badTokens"] }
  | { kind: "tampered"; cut: number; add: string }
  | { kind: "huge"; length: number };

/** Mostly the attacker's own valid token (so requests reach the resolvers), else something that must be refused. */
const authSpec: fc.Arbitrary<AuthSpec> = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom<AuthSpec>({ kind: "attacker", scheme: "Bearer " }) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom("bearer ", "BEARER   ", "Bearer\t")
      .map((scheme): AuthSpec => ({ kind: "attacker", scheme })),
  },
  { weight: 1, arbitrary: fc.constant<AuthSpec>({ kind: "none" }) },
  { weight: 1, arbitrary: headerText(60).map((value): AuthSpec => ({ kind: "raw", value })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(fc.constantFrom("Bearer ", "Bearer", "Basic ", "Token ", "Bearer Bearer "), fc.constant("Bearer "))
      .chain((scheme) => headerText(80).map((rest): AuthSpec => ({ kind: "raw", value: scheme + rest }))),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom<keyof World["badTokens"]>("wrongSecret", "expired", "unsigned", "victimWrongSecret", "notYetValid")
      .map((token): AuthSpec => ({ kind: "bad", token })),
  },
  {
    weight: 1,
    arbitrary: fc
      .record({ cut: fc.integer({ min: 0, max: 5 }), add: fc.constantFrom("", "x", "A", ".", "..", "=", "==") })
      .filter(({ cut, add }) => cut > 0 || add !== "")
      .map((spec): AuthSpec => ({ kind: "tampered", ...spec })),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 8000, max: 20_000 }).map((length): AuthSpec => ({ kind: "huge", length })),
  },
);

function authHeader(spec: AuthSpec): Record<string, string> {
  switch (spec.kind) {
    case "attacker":
      return { authorization: `${spec.scheme}${world.attacker.token}` };
    case "none":
      return {};
    case "raw":
      return { authorization: spec.value };
    case "bad":
      return { authorization: `Bearer ${world.badTokens[spec.token]}` };
    case "tampered":
      return { authorization: `Bearer ${world.attacker.token.slice(0, -spec.cut || undefined)}${spec.add}` };
    case "huge":
      return { authorization: `Bearer ${"A".repeat(spec.length)}` };
  }
}

const ifMatch: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '"1"',
      'W/"1"',
      '"2"',
      "*",
      '"0"',
      '"01"',
      '"-1"',
      '"1.0"',
      '"1000000000"',
      '"999999999"',
      '"99999999999999999999"',
      "1",
      '""',
      'W/""',
      '"1", "2"',
      '" 1"',
      'w/"1"',
      '"1',
      '*, "1"',
    ),
  },
  { weight: 1, arbitrary: headerText(30) },
);

/** Idempotency-Key: mostly none; else the victim's own key, keys of every length, and non-ASCII text. */
const idempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  {
    weight: 2,
    arbitrary: fc.constantFrom("victim-key", "k1", "k2", "", " ", "a".repeat(255), "a".repeat(256), "é", "a b", "a\tb"),
  },
  { weight: 1, arbitrary: headerText(20) },
);

const contentType: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constant("application/json") },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "application/json; charset=utf-8",
      "APPLICATION/JSON",
      "application/merge-patch+json",
      "application/json;",
      "application/json ; charset=latin1",
      "text/plain",
      "text/json",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "",
      "application/jsonx",
      "application/json garbage",
      "application/graphql-response+json",
      "application/graphql",
      "*/*",
    ),
  },
  { weight: 1, arbitrary: headerText(40) },
);

// --- Arbitraries: REST requests -----------------------------------------------------------

/** The {user_id} in a path: mostly the attacker's own, sometimes the victim's or garbage. */
const userInPath: fc.Arbitrary<string | Big | Ref> = fc.oneof(
  { weight: 20, arbitrary: fc.constant(new Ref("attackerUser")) },
  { weight: 2, arbitrary: fc.constant(new Ref("victimUser")) },
  { weight: 1, arbitrary: weirdString },
);

/** A path segment, percent-encoded; lone surrogates (which have no UTF-8) become U+FFFD first. */
function segment(value: string): string {
  const wellFormed = value.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");
  return encodeURIComponent(wellFormed);
}

/** "." and ".." would be removed from the URL, so they never reach the routes: not a case of these routes. */
const isDotSegment = (value: string) => value === "." || value === ".." || /^(%2e|\.){1,2}$/i.test(value);

function userSegment(value: string | Big | Ref): string {
  const user = text(value);
  return isDotSegment(user) ? "dot" : segment(user);
}

function idSegment(value: string | Big | Ref): string {
  const id = text(value);
  return isDotSegment(id) ? "dot" : segment(id);
}

/** Request bodies: task-shaped objects with fields of every type, any JSON, broken JSON, deep and huge ones. */
const restBody: fc.Arbitrary<{ json: unknown } | { raw: string | Big } | undefined> = fc.oneof(
  {
    // Around MAX_BODY_BYTES (1 MiB): some just under, most over.
    weight: 1,
    arbitrary: fc
      .integer({ min: 1_000_000, max: 1_200_000 })
      .map((n) => ({ raw: new Big('{"title":"', ["x", n], '"}') })),
  },
  { weight: 2, arbitrary: fc.constant(undefined) },
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.record({ title, description: title, is_completed: boolValue }, { requiredKeys: [] }), extraFields)
      .map(([fields, extra]) => ({ json: { ...extra, ...fields } })),
  },
  { weight: 2, arbitrary: anyJson.map((json) => ({ json })) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(
        "{",
        "}",
        "{'title':'x'}",
        '{"title": "x",}',
        '{"title": "x"} trailing',
        "\u0000",
        "nul",
        " ",
        '\ufeff{"title":"x"}',
        "[1,2",
        "1e400",
        '{"title": "\\ud800"}',
        '{"title": "a\\u0000b"}',
        '{"title": "ok", "description": "\\u0000"}',
        '{"__proto__": {"title": "x"}}',
        '{"title":"x","title":"y"}',
        '{"title": 1e400}',
        '{"is_completed": "true"}',
        '{"is_completed": 1}',
      )
      .map((raw) => ({ raw })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        fc.integer({ min: 100, max: 300_000 }).map((n) => new Big(["[", n], ["]", n])),
        fc.integer({ min: 100, max: 100_000 }).map((n) => new Big(['{"title":', n], '"x"', ["}", n])),
        fc.integer({ min: 100, max: 100_000 }).map((n) => new Big(['{"a":', n], "1", ["}", n])),
        fc.integer({ min: 1000, max: 60_000 }).map((n) => new Big("{", ['"k":1,', n], '"title":"wide"}')),
      )
      .map((raw) => ({ raw })),
  },
);

type RestCommon = Pick<RestCase, "auth" | "ifMatch" | "idempotencyKey" | "contentType" | "body">;

interface RestCase {
  method: string;
  path: string;
  auth: AuthSpec;
  ifMatch: string | undefined;
  idempotencyKey?: string | undefined;
  contentType: string;
  body: { json: unknown } | { raw: string | Big } | undefined;
}

/** Sends a fuzzed REST request through `rest()` (which checks the answer against the contract) and checks it. */
async function sendRest(c: RestCase): Promise<RestResponse> {
  const headers: Record<string, string> = { ...authHeader(c.auth) };
  if (c.ifMatch !== undefined) headers["if-match"] = c.ifMatch;
  if (c.idempotencyKey !== undefined) headers["idempotency-key"] = c.idempotencyKey;
  let rawBody: string | undefined;
  if (c.body !== undefined && c.method !== "GET" && c.method !== "HEAD") {
    rawBody = "json" in c.body ? (JSON.stringify(materialize(c.body.json)) ?? "null") : text(c.body.raw);
    headers["content-type"] = c.contentType;
  }
  const where = `${c.method} ${excerpt(c.path)}`;
  const res = await rest(world.t, c.method, c.path, { headers, ...(rawBody === undefined ? {} : { rawBody }) });
  const requestText = `${c.path}\n${JSON.stringify(headers)}\n${rawBody ?? ""}`;
  expectSafe(where, res.status, res.text, res.body, requestText);
  if ((c.method === "POST" || c.method === "PUT") && (res.status === 200 || res.status === 201) && rawBody) {
    // The body was read as UTF-8 text, which drops a leading byte order mark, as JSON parsers may.
    expectStoredAsSent(where, JSON.parse(rawBody.replace(/^\ufeff/, "")), taskOf(res, res.status));
  }
  return res;
}

const queryKey = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom("status", "sort", "limit", "cursor", "q") },
  { weight: 1, arbitrary: fc.constantFrom("__proto__", "constructor", "status[]", "Status", "LIMIT", "", "q ") },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);

const queryValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom("all", "pending", "completed", "open", "ALL", "") },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "created_at",
      "-created_at",
      "updated_at",
      "-updated_at",
      "title",
      "-title",
      "--title",
      "id",
      "+title",
    ),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      "1",
      "0",
      "-1",
      "1000",
      "1001",
      "01",
      "1e3",
      " 5",
      "5 ",
      "1.0",
      "0x10",
      "9999999999999999",
    ),
  },
  { weight: 2, arbitrary: cursorValue },
  { weight: 3, arbitrary: weirdString },
  { weight: 2, arbitrary: awkwardText },
);

/** A query string: random keys and values (repeated keys too), percent-encoded, sometimes with raw garbage. */
const queryString = fc
  .tuple(
    fc.array(fc.tuple(queryKey, queryValue), { maxLength: 6 }),
    fc.constantFrom(
      "",
      "",
      "",
      "&",
      "&&",
      "&=",
      "&q=%",
      "&q=%zz",
      "&limit",
      "&=x",
      "&q=%00",
      "&q=+",
      "&status=all&status=bogus",
    ),
  )
  .map(([pairs, raw]) => ({ pairs, raw }));

function queryText(query: { pairs: [string, unknown][]; raw: string }): string {
  const parts = query.pairs.map(([key, value]) => {
    const materialized = cursorText(value);
    const valueText = typeof materialized === "string" ? materialized : (JSON.stringify(materialized) ?? "");
    return `${segment(key)}=${segment(valueText)}`;
  });
  return parts.join("&") + query.raw;
}

const restCommon = fc.record({ auth: authSpec, ifMatch, idempotencyKey, contentType, body: restBody });

/** Text for a field that is otherwise sent right: plain, any Unicode, awkward, hostile. */
const textField: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }) },
  { weight: 3, arbitrary: awkwardText },
  { weight: 2, arbitrary: weirdString },
);

/**
 * A request that is right in everything but its text (the attacker's own
 * token, path and task, JSON, no precondition), so that the odd values reach
 * validation, the resolvers and the database.
 */
const nearValidCommon = fc.record({
  auth: fc.constant<AuthSpec>({ kind: "attacker", scheme: "Bearer " }),
  ifMatch: fc.constantFrom(undefined, "*"),
  idempotencyKey: fc.constant(undefined),
  contentType: fc.constant("application/json"),
  body: fc
    .record({ title: textField, description: textField, is_completed: fc.boolean() }, { requiredKeys: ["title"] })
    .map((json): { json: unknown } => ({ json })),
});

/** Half fully random requests, half near-valid ones on the attacker's own user and tasks. */
function routeCase(withId: boolean): fc.Arbitrary<[string | Big | Ref, string | Big | Ref, RestCommon]> {
  const random = fc.tuple(userInPath, withId ? idValue : fc.constant(""), restCommon);
  const nearValid = fc.tuple(
    fc.constant<string | Big | Ref>(new Ref("attackerUser")),
    withId ? fc.nat().map((index): string | Big | Ref => new Ref("attackerTask", index)) : fc.constant(""),
    nearValidCommon,
  );
  return fc.oneof(random, nearValid);
}
/** As restCommon, without the bodies over MAX_BODY_BYTES (the routes' own properties send those). */
const restCommonSmallBodies = fc.record({
  auth: authSpec,
  ifMatch,
  idempotencyKey,
  contentType,
  body: restBody.filter((body) => body === undefined || !("raw" in body) || text(body.raw).length < 1_000_000),
});

// --- Arbitraries: GraphQL requests ---------------------------------------------------------

interface GraphQLCase {
  method: "POST" | "GET";
  auth: AuthSpec;
  idempotencyKey?: string | undefined;
  contentType: string;
  accept: string | undefined;
  /** Either a JSON body (query, variables, operationName) or raw body text. */
  body: { json: unknown } | { raw: string | Big };
}

const accept: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(undefined, "application/json") },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "application/graphql-response+json",
      "application/graphql-response+json, application/json;q=0.9",
      "*/*",
      "text/html",
      "application/xml",
      "text/event-stream",
      "multipart/mixed",
      "",
    ),
  },
);

/** Sends a fuzzed GraphQL request to /graphql and checks the answer. Returns the parsed body, if JSON. */
async function sendGraphQL(c: GraphQLCase): Promise<unknown> {
  const headers: Record<string, string> = { ...authHeader(c.auth) };
  if (c.accept !== undefined) headers.accept = c.accept;
  if (c.idempotencyKey !== undefined) headers["idempotency-key"] = c.idempotencyKey;
  let url = "/graphql";
  let body: string | undefined;
  const materialized = "json" in c.body ? materialize(c.body.json) : text(c.body.raw);
  if (c.method === "GET") {
    // A GET carries the operation in the URL.
    const params = new URLSearchParams();
    if (typeof materialized === "object" && materialized !== null && !Array.isArray(materialized)) {
      for (const [key, value] of Object.entries(materialized)) {
        const valueText = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
        params.set(key, valueText.replace(/[\ud800-\udfff]/g, "\ufffd"));
      }
    } else {
      params.set("query", String(materialized).replace(/[\ud800-\udfff]/g, "\ufffd"));
    }
    url = `/graphql?${params}`;
  } else {
    body =
      typeof materialized === "string" && !("json" in c.body) ? materialized : (JSON.stringify(materialized) ?? "null");
    headers["content-type"] = c.contentType;
  }
  const res = await world.t.request(url, { method: c.method, headers, ...(body === undefined ? {} : { body }) });
  const responseText = await res.text();
  const type = res.headers.get("content-type") ?? "";
  let parsed: unknown = null;
  if (/json/i.test(type) && responseText !== "") {
    try {
      parsed = JSON.parse(responseText);
    } catch {
      throw new Error(`POST /graphql answered ${res.status} with invalid JSON: ${excerpt(responseText)}`);
    }
  }
  const where = `${c.method} ${excerpt(url)} ${excerpt(body ?? "")}`;
  const requestText = `${url}\n${JSON.stringify(headers)}\n${body ?? ""}`;
  if (/^text\/html/i.test(type)) {
    // A browser's GET: GraphiQL, a static page (its bundled script is not a stack trace), and nothing else.
    expect(c.method).toBe("GET");
    expect(res.status).toBe(200);
    expect(responseText).toContain("<title>tasks-api</title>");
    return parsed;
  }
  expectSafe(where, res.status, responseText, parsed, requestText);
  // A masked error inside a 200 is a 500 all the same.
  if (/"INTERNAL_SERVER_ERROR"|Unexpected error\./.test(responseText)) {
    throw new Error(`${where}: an unexpected (masked) error: ${excerpt(responseText)}`);
  }
  return parsed;
}

/** Sends a createTask/updateTask case, and checks a task it made or changed holds what was sent. */
async function sendWrite(c: GraphQLCase, field: "createTask" | "updateTask"): Promise<void> {
  const parsed = (await sendGraphQL(c)) as { data?: Record<string, unknown> | null } | null;
  const task = parsed?.data?.[field];
  if (task == null || !("json" in c.body)) return;
  const sent = materialize(c.body.json) as { variables?: { input?: unknown } };
  expectStoredAsSent(`${field} ${JSON.stringify(sent.variables)}`, sent.variables?.input, task);
}

/** Variables for an operation: each declared one present or not, of any type, plus undeclared extras. */
function variablesFor(shape: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  return fc.oneof(
    {
      weight: 9,
      arbitrary: fc
        .tuple(
          // Each declared variable is there five times out of six.
          fc.record(
            Object.fromEntries(
              Object.entries(shape).map(([name, value]) => [name, fc.option(value, { nil: undefined, freq: 6 })]),
            ),
          ),
          extraFields,
        )
        .map(([vars, extra]) => {
          const given = Object.fromEntries(Object.entries(vars).filter(([, value]) => value !== undefined));
          return { ...extra, ...given };
        }),
    },
    { weight: 1, arbitrary: anyJson },
  );
}

/**
 * Requests for one operation: half with every part random (variables of any
 * type, headers, method), half right in everything but the values of the
 * variables given in `nearValid` (sent as the attacker, as JSON).
 */
function operationCase(
  document: TypedDocumentString<unknown, never>,
  shape: Record<string, fc.Arbitrary<unknown>>,
  nearValid: Record<string, fc.Arbitrary<unknown>>,
): fc.Arbitrary<GraphQLCase> {
  const body = (variables: fc.Arbitrary<unknown>, operationName: fc.Arbitrary<unknown>) =>
    fc.tuple(variables, operationName).map(([vars, name]) => ({
      json: {
        query: document.toString(),
        variables: cursorVariables(vars),
        ...(name === undefined ? {} : { operationName: name }),
      },
    }));
  const random = fc.record({
    method: fc.oneof(
      { weight: 7, arbitrary: fc.constant<"POST" | "GET">("POST") },
      { weight: 1, arbitrary: fc.constant<"POST" | "GET">("GET") },
    ),
    auth: authSpec,
    idempotencyKey,
    contentType: fc.oneof(
      { weight: 6, arbitrary: fc.constant("application/json") },
      { weight: 1, arbitrary: contentType },
    ),
    accept,
    body: body(
      variablesFor(shape),
      fc.oneof(
        { weight: 10, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.constantFrom<unknown>(null, "", "Nope", 1) },
      ),
    ),
  });
  const near = fc.record({
    method: fc.constant<"POST" | "GET">("POST"),
    auth: fc.constant<AuthSpec>({ kind: "attacker", scheme: "Bearer " }),
    idempotencyKey: fc.constant(undefined),
    contentType: fc.constant("application/json"),
    accept: fc.constant(undefined),
    body: body(fc.record(nearValid), fc.constant(undefined)),
  });
  return fc.oneof(random, near);
}

/** A GraphQL id variable: any id value, or a JSON value of another type. */
const idVariable = fc.oneof({ weight: 4, arbitrary: idValue }, { weight: 1, arbitrary: anyJson });

/** The attacker's own task, the victim's, or an id that is not one. */
const nearValidId = fc.oneof(
  { weight: 3, arbitrary: fc.nat().map((index) => new Ref("attackerTask", index)) },
  { weight: 1, arbitrary: fc.constant(new Ref("victimTask")) },
  { weight: 2, arbitrary: textField },
);

/** A cursor of the right shape for a title order, with any title in it. */
const titleCursor = fc
  .tuple(textField, fc.oneof(fc.uuid(), fc.constant(new Ref("victimTask"))))
  .map(([value, id]) => ({ tag: "t", value, id }));

/** Crafted cursors inside variables become their base64url text. */
function cursorVariables(variables: unknown): unknown {
  if (typeof variables !== "object" || variables === null || Array.isArray(variables)) return variables;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(variables)) {
    Object.defineProperty(out, key, {
      value: key === "after" || key === "before" ? cursorText(value) : value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

const createInput = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.record({ title, description: title }, { requiredKeys: [] }), extraFields)
      .map(([fields, extra]) => ({ ...extra, ...fields })),
  },
  { weight: 1, arbitrary: anyJson },
);

const updateInput = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.record(
          { title, description: title, isCompleted: boolValue, expectedVersion: intValue },
          { requiredKeys: [] },
        ),
        extraFields,
      )
      .map(([fields, extra]) => ({ ...extra, ...fields })),
  },
  { weight: 1, arbitrary: anyJson },
);

const filterValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        status: fc.oneof(fc.constantFrom<unknown>("ALL", "OPEN", "COMPLETED", "all", "PENDING", "", null), anyJson),
        search: fc.oneof(fc.constantFrom<unknown>("%", "_", "\\", "%%", "a%b", null), weirdString, anyJson),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: anyJson },
);

const orderValue = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record(
      {
        field: fc.oneof(
          fc.constantFrom<unknown>("CREATED_AT", "UPDATED_AT", "TITLE", "createdAt", "title", "ID", null),
          anyJson,
        ),
        direction: fc.oneof(fc.constantFrom<unknown>("ASC", "DESC", "asc", "DOWN", null), anyJson),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: anyJson },
);

/** Raw GraphQL text: garbage, token soup, deep and wide selections, fragment cycles, huge literals. */
const rawQuery: fc.Arbitrary<string | Big> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 200 }) },
  {
    weight: 3,
    arbitrary: fc
      .array(
        fc.constantFrom(
          "{",
          "}",
          "(",
          ")",
          "[",
          "]",
          ":",
          "$",
          "!",
          "=",
          "...",
          "@include(if: true)",
          "@skip(if: $x)",
          "query",
          "mutation",
          "subscription",
          "fragment",
          "on",
          "Task",
          "tasks",
          "task",
          "viewer",
          "id",
          "title",
          "owner",
          "edges",
          "node",
          "createTask",
          "deleteTask",
          "input:",
          'id: "x"',
          "first: 1",
          "__typename",
          "__schema { types { name } }",
          '"',
          '"""',
          "#",
          ",",
          "1.5e999",
          "\\u0000",
        ),
        { maxLength: 40 },
      )
      .map((tokens) => tokens.join(" ")),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 8 }).map((depth) => {
      let selection = "id title";
      for (let i = 0; i < depth; i++)
        selection = `id owner { id tasks(first: 2) { totalCount edges { node { ${selection} } } } }`;
      return `{ viewer { tasks(first: 2) { edges { node { ${selection} } } } } }`;
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom("{a", "{viewer", "{ tasks { edges { node", "[", "{__typename "),
        fc.integer({ min: 100, max: 200_000 }),
      )
      .map(([open, depth]) => new Big([open, depth], [open.startsWith("[") ? "]" : "}", depth])),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 100, max: 100_000 })
      .map(
        (depth) => new Big("query { tasks(filter: {search: ", ["[", depth], '"x"', ["]", depth], "}) { totalCount } }"),
      ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.integer({ min: 1, max: 1000 }),
        fc.constantFrom("viewer { id }", "__typename", "tasks(first: 1) { totalCount }", 'task(id: "x") { id }'),
      )
      .map(([count, field]) => {
        const aliases = field.startsWith("tasks") ? Math.min(count, 100) : count;
        return `{ ${Array.from({ length: aliases }, (_, i) => `a${i}: ${field}`).join(" ")} }`;
      }),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      "fragment A on Task { ...B } fragment B on Task { ...A } { tasks { edges { node { ...A } } } }",
      "fragment A on Task { ...A } { tasks { edges { node { ...A } } } }",
      "{ tasks { edges { node { id } } } } { viewer { id } }",
      "query Q { viewer { id } } query Q { viewer { id } }",
      "mutation { deleteTask(id: $id) { deletedTaskId } }",
      "query ($id: ID!) { task(id: $id) { id } }",
      "{ task(id: 1) { id } }",
      "{ tasks(first: -1) { totalCount } }",
      "{ tasks(first: 1, last: 1) { totalCount } }",
      "{ tasks(first: 2147483648) { totalCount } }",
      '{ tasks(after: "\\u0000") { totalCount } }',
      "{ __schema { types { name fields { name } } } }",
      '{ __type(name: "Task") { fields { name } } }',
      "subscription { tasks { totalCount } }",
      "{ viewer @include(if: true) @include(if: false) { id } }",
      "{ viewer { id @skip(if: true) } }",
      "{ viewer { ... on User { id } ... on Task { id } } }",
      '{ node(id: "x") { id } }',
    ),
  },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 1000, max: 900_000 }).map((n) => new Big('{ task(id: "', ["x", n], '") { id } }')),
  },
  {
    weight: 1,
    arbitrary: fc
      .integer({ min: 100, max: 20_000 })
      .map((n) => new Big("{ viewer ", ["@include(if: true) ", n], "{ id } }")),
  },
);

const rawGraphQLCase: fc.Arbitrary<GraphQLCase> = fc.record({
  method: fc.constantFrom<"POST" | "GET">("POST", "POST", "POST", "GET"),
  auth: authSpec,
  idempotencyKey,
  contentType,
  accept,
  body: fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(rawQuery, fc.option(anyJson, { nil: undefined }), fc.option(anyJson, { nil: undefined }))
        .map(([query, variables, operationName]) => ({
          json: {
            query,
            ...(variables === undefined ? {} : { variables }),
            ...(operationName === undefined ? {} : { operationName }),
          },
        })),
    },
    { weight: 1, arbitrary: anyJson.map((json) => ({ json })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '[{"query":"{ viewer { id } }"},{"query":"{ viewer { id } }"}]',
          '{"query": 1}',
          '{"query": ["{ viewer { id } }"]}',
          '{"query": "{ viewer { id } }", "variables": "nope"}',
          '{"query": "{ viewer { id } }", "variables": [1]}',
          '{"query": "{ viewer { id } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "x"}}}',
          '{"query": null}',
          "{",
          "",
          "null",
          '{"query":"{ viewer { id } }"} x',
          '{"query": "\\u0000"}',
          '{"query": "{ viewer { id } }", "query": "mutation { createTask(input: {title: \\"dup\\"}) { id } }"}',
        )
        .map((raw) => ({ raw })),
    },
  ),
});

// --- The test ------------------------------------------------------------------------------

describe("fuzz: malformed input never breaks the service or leaks another user's data", () => {
  let victimRowBefore: unknown;
  let victimUserBefore: unknown;
  let victimKeysBefore: unknown;

  beforeAll(async () => {
    const t = await startTestApp();
    const attackerId = "fuzz-attacker";
    const victimId = "fuzz-victim";
    const [attackerToken, victimToken] = await Promise.all([mintToken(attackerId), mintToken(victimId)]);
    const now = Math.floor(Date.now() / 1000);
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const badTokens = {
      wrongSecret: await mintToken(attackerId, { secret: "another-secret-that-is-at-least-32-bytes" }),
      expired: await mintToken(attackerId, { expiresIn: -3600 }),
      unsigned: `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: victimId, exp: now + 900 })}.`,
      victimWrongSecret: await mintToken(victimId, { secret: "another-secret-that-is-at-least-32-bytes" }),
      notYetValid: await mintToken(attackerId, { notBefore: 3600 }),
    };

    const secret = randomUUID();
    const victimTask = taskOf(
      await rest(t, "POST", `/api/${victimId}/tasks`, {
        token: victimToken,
        headers: { "idempotency-key": "victim-key" },
        body: { title: `victim title ${secret}`, description: `victim description ${secret}` },
      }),
      201,
    );
    world = {
      t,
      attacker: { id: attackerId, token: attackerToken },
      victim: {
        id: victimId,
        taskId: victimTask.id,
        title: victimTask.title,
        description: victimTask.description ?? "",
        createdAt: victimTask.created_at,
      },
      badTokens,
      cursors: [],
    };
    // The attacker has tasks of their own, and cursors of their own lists in every order.
    for (let i = 0; i < 3; i++) {
      await rest(t, "POST", `/api/${attackerId}/tasks`, { token: attackerToken, body: { title: `mine ${i}` } });
    }
    for (const sort of ["-created_at", "updated_at", "title"]) {
      const list = listOf(
        await rest(t, "GET", `/api/${attackerId}/tasks?limit=1&sort=${sort}`, { token: attackerToken }),
      );
      if (list.meta.next_cursor !== null) world.cursors.push(list.meta.next_cursor);
    }
    expect(world.cursors).toHaveLength(3);
    await ensureAttackerTasks();

    victimRowBefore = await t.db.prisma.task.findUnique({ where: { id: victimTask.id } });
    victimUserBefore = await t.db.prisma.user.findUnique({ where: { id: victimId } });
    victimKeysBefore = await t.db.prisma.idempotencyKey.findMany({ where: { userId: victimId } });
    expect(victimKeysBefore).toHaveLength(1);
    expect(victimRowBefore).not.toBeNull();
  });
  afterAll(() => world.t.close());

  /** Runs a property with the file's settings; the attacker's tasks are made again first if a run deleted them. */
  async function fuzz<T>(arbitrary: fc.Arbitrary<T>, send: (value: T) => Promise<unknown>): Promise<void> {
    await ensureAttackerTasks();
    await fc.assert(
      fc.asyncProperty(arbitrary, async (value) => {
        await send(value);
        await ensureAttackerTasks();
      }),
      assertOptions,
    );
  }

  describe("REST", () => {
    it("GET /api/{user_id}/tasks with any query", async () => {
      await fuzz(fc.tuple(routeCase(false), queryString), ([[user, , common], query]) =>
        sendRest({ method: "GET", path: `/api/${userSegment(user)}/tasks?${queryText(query)}`, ...common }),
      );
    }, 120_000);

    it("POST /api/{user_id}/tasks with any body and headers", async () => {
      await fuzz(routeCase(false), ([user, , common]) =>
        sendRest({ method: "POST", path: `/api/${userSegment(user)}/tasks`, ...common }),
      );
    }, 120_000);

    it("GET /api/{user_id}/tasks/{id} with any id", async () => {
      await fuzz(routeCase(true), ([user, id, common]) =>
        sendRest({ method: "GET", path: `/api/${userSegment(user)}/tasks/${idSegment(id)}`, ...common }),
      );
    }, 120_000);

    it("PUT /api/{user_id}/tasks/{id} with any id, body and If-Match", async () => {
      await fuzz(routeCase(true), ([user, id, common]) =>
        sendRest({ method: "PUT", path: `/api/${userSegment(user)}/tasks/${idSegment(id)}`, ...common }),
      );
    }, 120_000);

    it("DELETE /api/{user_id}/tasks/{id} with any id and If-Match", async () => {
      await fuzz(routeCase(true), ([user, id, common]) =>
        sendRest({ method: "DELETE", path: `/api/${userSegment(user)}/tasks/${idSegment(id)}`, ...common }),
      );
    }, 120_000);

    it("PATCH /api/{user_id}/tasks/{id}/complete with any id, body and If-Match", async () => {
      await fuzz(routeCase(true), ([user, id, common]) =>
        sendRest({ method: "PATCH", path: `/api/${userSegment(user)}/tasks/${idSegment(id)}/complete`, ...common }),
      );
    }, 120_000);

    it("any method on any /api path", async () => {
      const method = fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "get", "PROPFIND", "FOO");
      const shape = fc.constantFrom(
        (u: string, _id: string) => `/api/${u}/tasks`,
        (u: string, id: string) => `/api/${u}/tasks/${id}`,
        (u: string, id: string) => `/api/${u}/tasks/${id}/complete`,
        (u: string, id: string) => `/api/${u}/tasks/${id}/complete/${id}`,
        (u: string, id: string) => `/api/${u}/tasks/${id}/${id}`,
        (u: string, _id: string) => `/api/${u}`,
        (u: string, _id: string) => `/api/${u}/tasks/`,
        (_u: string, id: string) => `/api/tasks/${id}`,
        (u: string, id: string) => `/api/${u}/task/${id}`,
        (u: string, id: string) => `/api/${u}//tasks/${id}`,
        (u: string, id: string) => `/api/${u}/tasks/${id}%2Fcomplete`,
      );
      await fuzz(fc.tuple(method, shape, userInPath, idValue, restCommonSmallBodies), ([m, build, user, id, common]) =>
        sendRest({ method: m.toUpperCase(), path: build(userSegment(user), idSegment(id)), ...common }),
      );
    }, 120_000);
  });

  describe("GraphQL", () => {
    it("createTask with any variables", async () => {
      await fuzz(
        operationCase(
          CreateTask,
          { input: createInput },
          { input: fc.record({ title: textField, description: textField }, { requiredKeys: ["title"] }) },
        ),
        (c) => sendWrite(c, "createTask"),
      );
    }, 120_000);

    it("updateTask with any variables", async () => {
      await fuzz(
        operationCase(
          UpdateTask,
          { id: idVariable, input: updateInput },
          {
            id: nearValidId,
            input: fc.record(
              { title: textField, description: textField, isCompleted: fc.boolean() },
              { requiredKeys: [] },
            ),
          },
        ),
        (c) => sendWrite(c, "updateTask"),
      );
    }, 120_000);

    it("setTaskCompleted with any variables", async () => {
      await fuzz(
        operationCase(
          SetTaskCompleted,
          { id: idVariable, completed: boolValue, expectedVersion: intValue },
          { id: nearValidId, completed: fc.boolean() },
        ),
        sendGraphQL,
      );
    }, 120_000);

    it("toggleTaskCompleted with any variables", async () => {
      await fuzz(
        operationCase(ToggleTaskCompleted, { id: idVariable, expectedVersion: intValue }, { id: nearValidId }),
        sendGraphQL,
      );
    }, 120_000);

    it("deleteTask with any variables", async () => {
      await fuzz(
        operationCase(DeleteTask, { id: idVariable, expectedVersion: intValue }, { id: nearValidId }),
        sendGraphQL,
      );
    }, 120_000);

    it("task(id) with any variables", async () => {
      await fuzz(operationCase(GetTask, { id: idVariable }, { id: nearValidId }), sendGraphQL);
    }, 120_000);

    it("tasks (and viewer.tasks) with any filter, order and page arguments", async () => {
      await fuzz(
        operationCase(
          ListTasksWithViewer,
          {
            first: intValue,
            after: cursorValue,
            last: intValue,
            before: cursorValue,
            filter: filterValue,
            orderBy: orderValue,
          },
          {
            first: fc.integer({ min: 0, max: 100 }),
            after: fc.oneof(fc.constant(null), titleCursor),
            filter: fc.record({ search: textField }),
            orderBy: fc.constant({ field: "TITLE", direction: "ASC" }),
          },
        ),
        sendGraphQL,
      );
    }, 120_000);

    it("raw query strings and request shapes", async () => {
      await fuzz(rawGraphQLCase, sendGraphQL);
    }, 180_000);
  });

  describe("tokens", () => {
    /** Claims of every type and shape, in tokens signed with the right secret: a user id is whatever `sub` says. */
    const claimValue: fc.Arbitrary<unknown> = fc.oneof(
      { weight: 3, arbitrary: fc.string({ minLength: 1, maxLength: 30 }) },
      { weight: 2, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 30 }) },
      { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }) },
      { weight: 3, arbitrary: fc.constantFrom(...specialStrings) },
      {
        // Ids that survive a token but may not survive a trip through the database or a URL.
        weight: 2,
        arbitrary: fc.constantFrom(
          "\ufeff",
          "\ufeffuser",
          "user\ufeff",
          " user",
          "user ",
          "\u00a0",
          "user\u200b",
          "a/b",
          "a%2Fb",
          "..",
          ".",
          "ユーザー",
          "🙂",
        ),
      },
      { weight: 1, arbitrary: weirdString },
      { weight: 1, arbitrary: anyJson },
      { weight: 1, arbitrary: fc.constantFrom("a".repeat(255), "a".repeat(256), "é".repeat(255), "🙂".repeat(128)) },
    );
    const claims = fc
      .tuple(
        fc.record({ sub: claimValue, email: claimValue, name: claimValue }, { requiredKeys: ["sub"] }),
        // Now and then, registered claims of the wrong type too.
        fc.option(
          fc.record({ iss: anyJson, aud: anyJson, nbf: anyJson, iat: anyJson, exp: anyJson }, { requiredKeys: [] }),
          {
            freq: 4,
            nil: {},
          },
        ),
      )
      .map(([user, registered]) => ({ ...registered, ...user }));

    it("signed tokens with claims of any type never break a request, and a user sees only their own tasks", async () => {
      await fuzz(claims, async (spec) => {
        const payload = materialize(spec) as Record<string, unknown>;
        if (payload.sub === world.victim.id) return; // A token for the victim may read the victim's tasks.
        const { sub, exp, ...rest } = payload;
        const token = await mintToken(undefined, {
          claims: { ...rest, sub: sub as string, ...(exp === undefined ? {} : { exp: exp as number }) },
          ...(exp === undefined ? {} : { omitExpiry: true }),
        });
        const auth: AuthSpec = { kind: "raw", value: `Bearer ${token}` };

        const viewer = await sendGraphQL({
          method: "POST",
          auth,
          contentType: "application/json",
          accept: undefined,
          body: { json: { query: ViewerWithTasks.toString() } },
        });
        const data = (
          viewer as { data?: { viewer?: { id: string; tasks: { edges: { node: { owner: { id: string } } }[] } } } }
        )?.data?.viewer;
        if (data) {
          // The caller is exactly the token's subject, and sees only tasks that are theirs.
          expect(data.id).toBe(sub);
          for (const edge of data.tasks.edges) expect(edge.node.owner.id).toBe(sub);
        }
        await sendGraphQL({
          method: "POST",
          auth,
          contentType: "application/json",
          accept: undefined,
          body: { json: { query: CreateTask.toString(), variables: { input: { title: "from a strange token" } } } },
        });
        if (typeof sub === "string" && !isDotSegment(sub)) {
          const list = await sendRest({
            method: "GET",
            path: `/api/${segment(sub)}/tasks`,
            auth,
            ifMatch: undefined,
            contentType: "application/json",
            body: undefined,
          });
          if (list.status === 200) for (const task of listOf(list).data) expect(task.user_id).toBe(sub);
          await sendRest({
            method: "POST",
            path: `/api/${segment(sub)}/tasks`,
            auth,
            ifMatch: undefined,
            contentType: "application/json",
            body: { json: { title: "strange token, REST" } },
          });
        }
      });
    }, 180_000);
  });

  it("left the victim's task and user exactly as they were", async () => {
    expect(await world.t.db.prisma.task.findUnique({ where: { id: world.victim.taskId } })).toEqual(victimRowBefore);
    expect(await world.t.db.prisma.task.count({ where: { userId: world.victim.id } })).toBe(1);
    expect(await world.t.db.prisma.user.findUnique({ where: { id: world.victim.id } })).toEqual(victimUserBefore);
    expect(await world.t.db.prisma.idempotencyKey.findMany({ where: { userId: world.victim.id } })).toEqual(
      victimKeysBefore,
    );
  });
});
