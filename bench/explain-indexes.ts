/**
 * npx tsx bench/explain-indexes.ts
 *
 * Justifies the indexes on `tasks`, `labels` and `task_labels` with EXPLAIN
 * (ANALYZE, BUFFERS). Creates a scratch database next to EXPLAIN_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres), applies the committed
 * migrations from prisma/migrations in order, seeds 100 users x
 * EXPLAIN_TASKS_PER_USER tasks (with due dates, priorities and labels) with
 * set-based SQL, runs the queries the API runs with and without each index
 * (DROP/CREATE INDEX inside a transaction that is rolled back), prints a plan
 * summary per run, and drops the scratch database at the end. The task
 * list's queries are what listTasks sends: each is a request to it on the
 * scratch database, its statements (SQL and parameters) taken from Prisma's
 * query log; only findTask and the label list's are written out.
 *
 * EXPLAIN_TASKS_PER_USER (default 10000, 100 to 1000000): tasks per user.
 * EXPLAIN_RUNS (default 7): measured runs per query and variant; the median
 * execution time is reported, the buffers are those of the last run.
 * EXPLAIN_VERBOSE=1 also prints the text plan of every run.
 * EXPLAIN_ONLY=<regexp>: measures only the queries whose id matches (the
 * checks still run), e.g. EXPLAIN_ONLY='^[DSPLC]'.
 * EXPLAIN_KEEP=1 keeps the scratch database; EXPLAIN_REUSE=<name> measures a
 * kept one again instead of creating and seeding one (and keeps it too).
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";
import { addDays, dayOf, startOfDay } from "../src/calendar.js";
import { type ListTasksOptions, listTasks, type TaskOrderField } from "../src/db/tasks.js";
import { PrismaClient, type Task } from "../src/generated/prisma/client.js";
import { admin, withDatabase } from "../test/helpers/postgres.js";

const adminUrl = process.env.EXPLAIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const runs = Number.parseInt(process.env.EXPLAIN_RUNS ?? "7", 10);
const verbose = process.env.EXPLAIN_VERBOSE === "1";
const tasksPerUser = Number(process.env.EXPLAIN_TASKS_PER_USER ?? "10000");
if (!Number.isInteger(tasksPerUser) || tasksPerUser < 100 || tasksPerUser > 1_000_000) {
  throw new Error("EXPLAIN_TASKS_PER_USER must be a whole number from 100 to 1000000.");
}
const only = process.env.EXPLAIN_ONLY ? new RegExp(process.env.EXPLAIN_ONLY) : undefined;
const reuse = process.env.EXPLAIN_REUSE || undefined;
const keep = reuse !== undefined || process.env.EXPLAIN_KEEP === "1";
const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../prisma/migrations");
const scratch = reuse ?? `tasks_explain_${process.pid}`;
if (!/^[a-z_][a-z0-9_]*$/.test(scratch)) throw new Error(`Not a plain database name: ${scratch}`);
const users = 100;
/**
 * "Now" of the seeded data: half a day after the last task was created. Due
 * dates lie around it (some overdue), and the queries ask relative to it.
 */
const now = new Date("2026-01-01T12:00:00.000Z");
/** The zone for "due on a day" and "this week": UTC+14, so its days start ten hours before UTC's. */
const dayZone = "Pacific/Kiritimati";
/** The zone of the README's example (overdue, labelled home, most urgent first). */
const readmeZone = "Europe/Berlin";

// ---------------------------------------------------------------------------
// EXPLAIN (FORMAT JSON) output, as far as this script reads it.

interface PlanNode {
  "Node Type": string;
  "Parent Relationship"?: string;
  "Subplan Name"?: string;
  "Index Name"?: string;
  "Relation Name"?: string;
  "Index Cond"?: string;
  "Recheck Cond"?: string;
  Filter?: string;
  "Sort Method"?: string;
  Strategy?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Heap Fetches"?: number;
  "Exact Heap Blocks"?: number;
  "Shared Hit Blocks": number;
  "Shared Read Blocks": number;
  Plans?: PlanNode[];
}

interface Explained {
  Plan: PlanNode;
  "Planning Time": number;
  "Execution Time": number;
}

function isExplained(value: unknown): value is Explained[] {
  if (!Array.isArray(value) || value.length !== 1) return false;
  const first: unknown = value[0];
  return typeof first === "object" && first !== null && "Plan" in first && "Execution Time" in first;
}

// ---------------------------------------------------------------------------
// What is measured.

/** A change to the schema made inside the measuring transaction and rolled back after. */
interface Variant {
  name: string;
  ddl: string[];
}

const dropStatus: Variant = { name: "-status idx", ddl: ["DROP INDEX tasks_user_status_created_idx"] };
const dropCreated: Variant = { name: "-created idx", ddl: ["DROP INDEX tasks_user_created_idx"] };
const dropBoth: Variant = {
  name: "-both user idx",
  ddl: ["DROP INDEX tasks_user_status_created_idx", "DROP INDEX tasks_user_created_idx"],
};
const asIs: Variant = { name: "as migrated", ddl: [] };
/** One index instead of two: the status only as a payload column of the newest-first index. */
const includeStatus: Variant = {
  name: "1 idx INCLUDE status",
  ddl: [
    ...dropBoth.ddl,
    "CREATE INDEX tasks_user_created_incl_idx ON tasks (user_id, created_at DESC, id DESC) INCLUDE (is_completed)",
  ],
};
const userIndexVariants = [asIs, dropStatus, dropCreated, dropBoth];
const dropDue: Variant = { name: "-due idx", ddl: ["DROP INDEX tasks_user_due_idx"] };
const dropPriority: Variant = { name: "-priority idx", ddl: ["DROP INDEX tasks_user_priority_idx"] };
/** task_labels by owner first (as migrated): a user's label counts and label filters without anyone else's rows. */
const dropLabelIdx: Variant = { name: "-tl user label idx", ddl: ["DROP INDEX task_labels_user_label_idx"] };
const dropTaskLabelsPkey: Variant = {
  name: "-tl pkey",
  ddl: ["ALTER TABLE task_labels DROP CONSTRAINT task_labels_pkey"],
};
/** The index task_labels had first, (label_id, task_id), instead of the owner-first one. */
const labelIdxWithUser: Variant = {
  name: "old tl idx (label,task)",
  ddl: [
    "DROP INDEX task_labels_user_label_idx",
    "CREATE INDEX task_labels_label_idx ON task_labels (label_id, task_id)",
  ],
};
/** A label belongs to one user: without these statistics, PostgreSQL multiplies the selectivities of label_id and user_id. */
const labelStats: Variant = {
  name: "-tl dependency stats",
  ddl: ["DROP STATISTICS task_labels_label_user_stats", "ANALYZE task_labels"],
};
/** task_labels as it was before bdbf601: the (label_id, task_id) index and no dependency statistics. */
const oldLabels: Variant = { name: "old tl idx, -stats", ddl: [...labelIdxWithUser.ddl, ...labelStats.ddl] };
/** Open (or completed) tasks by due date, without reading past the other status. */
const statusDue: Variant = {
  name: "-status due idx",
  ddl: ["DROP INDEX tasks_user_status_due_idx"],
};
// tasks_id_user_key (the target of task_labels' foreign key) finds a task by id as well as the primary key does.
const dropIdUser = [
  "ALTER TABLE task_labels DROP CONSTRAINT task_labels_task_id_user_id_fkey",
  "DROP INDEX tasks_id_user_key",
];

type Param = string | number | boolean;

interface Query {
  id: string;
  label: string;
  sql: string;
  params: Param[];
  variants: Variant[];
  /** Another spelling of a list: the page listTasks returned for it, which its first rows must be. */
  samePage?: string[];
}

interface Measured {
  query: Query;
  variant: Variant;
  /** Every node, depth-first, with its details. */
  nodes: string;
  /** The main path's node types (InitPlans and bitmap internals left out), for the summary. */
  shape: string;
  indexes: string[];
  rows: number;
  removed: number;
  medianMs: number;
  planningMs: number;
  hit: number;
  read: number;
}

/** The columns Prisma selects for a task. */
const columns =
  "id, user_id, title, description, is_completed, completed_at, created_at, updated_at, version, due_at, due_all_day, priority";
const newest = "ORDER BY created_at DESC, id DESC";

// ---------------------------------------------------------------------------
// Database plumbing.

async function applyMigrations(client: pg.Client): Promise<string[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  for (const name of names) {
    const sql = await readFile(path.join(migrationsDir, name, "migration.sql"), "utf8");
    // No parameters: the simple-query protocol runs the whole script as is.
    await client.query(sql);
  }
  return names;
}

/**
 * A deterministic number in [0, 1) for task `n` of user `u` (SQL expressions);
 * each salt gives an independent one.
 */
function unit(salt: number | string, u: string, n: string): string {
  return `((hashint8((${salt})::bigint * 10000000000 + ${u}::bigint * 10000000 + ${n})::bigint + 2147483648) % 1000000 / 1000000.0)`;
}

const userIdOf = (u: string) => `format('user-%s', lpad(${u}::text, 3, '0'))`;
const taskIdOf = (u: string, n: string) => `md5(format('task/%s/%s', ${u}, ${n}))::uuid`;
const labelIdOf = (u: string, k: string) => `md5(format('label/%s/%s', ${u}, ${k}))::uuid`;
/** Each user's labels, most used first. */
const labelNames = [
  "home",
  "Work",
  "Errands",
  "Finance",
  "Health",
  "Family",
  "Garden",
  "Car",
  "Travel",
  "Reading",
  "Waiting for",
  "Someday",
];

async function timed(what: string, run: () => Promise<unknown>): Promise<number> {
  const started = Date.now();
  await run();
  const seconds = (Date.now() - started) / 1000;
  console.log(`  ${what}: ${seconds.toFixed(1)} s`);
  return seconds;
}

async function seed(client: pg.Client): Promise<void> {
  const n = tasksPerUser;
  await client.query(`
    INSERT INTO users (id, email, name, created_at, updated_at)
    SELECT ${userIdOf("u")}, format('user%s@example.com', u), format('User %s', u),
           timestamptz '2025-01-01 00:00:00+00', timestamptz '2025-01-01 00:00:00+00'
    FROM generate_series(1, ${users}) AS u`);

  // n tasks per user over one year (for 1000, about one every 8h45m), each
  // shifted by up to 32/35 of that interval of deterministic jitter. Task n
  // shares its timestamp slot k with its neighbour when n % 10 = 0 (a pair)
  // and for n % 50 in (47, 48, 49) (a triple): exact ties in created_at
  // within a user, broken only by id. Rows are inserted in created_at order
  // across all users, as real traffic would write them, so one user's rows
  // are spread over the whole heap. Ids are derived from (user, n), so that
  // the labels below can name their tasks.
  //
  // Planning, deterministic per (user, n): 60 % of tasks have a due date, a
  // third of those all day (midnight UTC of the date), the others at a
  // quarter hour. Due dates lie within a year around `now`: for open tasks
  // from 90 days before it to 270 after (a quarter of them overdue), for
  // completed ones from 270 before to 90 after. Priorities: 55 % none, 15 %
  // low, 15 % medium, 10 % high, 5 % urgent.
  const jitterMs = Math.floor((28_800_000 * 1000) / n);
  await client.query("SELECT setseed(0.42)");
  await client.query(`
    WITH words AS (
      SELECT ARRAY['write', 'review', 'fix', 'plan', 'call', 'email', 'update', 'book', 'order', 'clean',
                   'prepare', 'send', 'check', 'draft', 'schedule', 'pay', 'buy', 'renew', 'test', 'ship'] AS verbs,
             ARRAY['report', 'invoice', 'meeting notes', 'budget', 'slides', 'garden', 'car service', 'dentist',
                   'groceries', 'release', 'newsletter', 'taxes', 'flights', 'onboarding doc', 'backlog',
                   'contract', 'roadmap', 'kitchen', 'insurance', 'birthday gift'] AS nouns,
             ARRAY['before Friday', 'for the team', 'with Alex', 'ASAP', 'this week', 'for Q3', 'again',
                   'if time allows', 'for the client', 'at home'] AS tails,
             ARRAY['Remember to attach the latest numbers.', 'Blocked on feedback from legal.',
                   'See the thread in the shared inbox for context.', 'Needs a second pair of eyes.',
                   'Low priority but keeps slipping.', 'Ask finance about the quarterly figures first.',
                   'Bring the printed copy.', 'Follow up if there is no answer by Monday.',
                   'Split into smaller steps once scoped.', 'Linked to the annual planning effort.'] AS sentences
    ),
    slots AS (
      SELECT u, n,
             CASE WHEN n % 50 IN (48, 49) THEN n - n % 50 + 47
                  WHEN n % 10 = 0 THEN n - 1
                  ELSE n END AS k
      FROM generate_series(1, ${users}) AS u, generate_series(1, ${n}) AS n
    ),
    drafted AS (
      SELECT s.u, s.n,
             ${userIdOf("s.u")} AS user_id,
             timestamptz '2025-01-01 00:00:00+00'
               + s.k * (interval '8750 hours' / ${n})
               + ((hashint8(s.u::bigint * 10000000 + s.k)::bigint + 2147483648) % ${jitterMs}) * interval '1 millisecond'
               AS created_at,
             random() < 1.0 / 3 AS is_completed,
             random() AS r1, random() AS r2, random() AS r3,
             ${unit(1, "s.u", "s.n")} AS r_due, ${unit(2, "s.u", "s.n")} AS r_all_day,
             ${unit(3, "s.u", "s.n")} AS r_when, ${unit(4, "s.u", "s.n")} AS r_priority
      FROM slots AS s
    ),
    planned AS (
      SELECT d.*,
             CASE WHEN d.r_due < 0.6
                  THEN timestamptz '${now.toISOString()}'
                         + ((CASE WHEN d.is_completed THEN -270 ELSE -90 END) + 360 * d.r_when) * interval '1 day'
             END AS due,
             d.r_due < 0.6 AND d.r_all_day < 1.0 / 3 AS all_day
      FROM drafted AS d
    )
    INSERT INTO tasks (id, user_id, title, description, is_completed, completed_at, created_at, updated_at, version,
                       due_at, due_all_day, priority)
    SELECT ${taskIdOf("d.u", "d.n")}, d.user_id,
           -- One task per user carries the rare word 'zeppelin'.
           initcap(w.verbs[1 + (d.n * 7 + d.u) % 20]) || ' ' || w.nouns[1 + (d.n * 13 + d.u * 3) % 20]
             || ' ' || w.tails[1 + (d.n * 3 + d.u) % 10]
             || CASE WHEN d.n = 1 + (d.u * 37) % ${n} THEN ' (zeppelin)' ELSE '' END,
           CASE WHEN d.r1 < 0.2 THEN NULL
                ELSE (SELECT string_agg(w.sentences[1 + (d.n * 11 + d.u * 5 + i * 7) % 10], ' ')
                      FROM generate_series(1, 1 + (d.n + d.u) % 8) AS i) END,
           d.is_completed,
           CASE WHEN d.is_completed THEN d.created_at + d.r2 * interval '30 days' END,
           d.created_at,
           CASE WHEN d.is_completed THEN d.created_at + d.r2 * interval '30 days' + interval '1 second'
                WHEN d.r3 < 0.5 THEN d.created_at + d.r3 * interval '20 days'
                ELSE d.created_at END,
           1 + floor(d.r3 * 4)::int,
           CASE WHEN d.all_day THEN date_trunc('day', d.due, 'UTC')
                ELSE date_bin('15 minutes', d.due, timestamptz '2000-01-01 00:00:00+00') END,
           d.all_day,
           CASE WHEN d.r_priority < 0.55 THEN 0 WHEN d.r_priority < 0.70 THEN 1 WHEN d.r_priority < 0.85 THEN 2
                WHEN d.r_priority < 0.95 THEN 3 ELSE 4 END
    FROM planned AS d CROSS JOIN words AS w
    ORDER BY d.created_at`);
}

/**
 * Twelve labels per user ('home' the most used, 'Someday' the least); a task
 * carries 0 (40 %), 1 (35 %), 2 (17 %) or 3 (8 %) picks, label k picked with
 * weight falling from about 29 % for the first to 4 % for the last (a
 * repeated pick is one label).
 */
async function seedLabels(client: pg.Client): Promise<void> {
  const names = labelNames.map((name) => `'${name.replaceAll("'", "''")}'`).join(", ");
  await client.query(`
    INSERT INTO labels (id, user_id, name, name_key, color, created_at, updated_at)
    SELECT ${labelIdOf("u", "k")}, ${userIdOf("u")}, c.names[k], lower(c.names[k]),
           CASE WHEN k % 4 = 0 THEN NULL ELSE format('#%s', lpad(to_hex((k * 1234567) % 16777216), 6, '0')) END,
           timestamptz '2025-01-01 00:00:00+00', timestamptz '2025-01-01 00:00:00+00'
    FROM generate_series(1, ${users}) AS u, generate_series(1, ${labelNames.length}) AS k,
         (SELECT ARRAY[${names}] AS names) AS c
    ORDER BY u, k`);
  await client.query(`
    INSERT INTO task_labels (user_id, task_id, label_id)
    SELECT ${userIdOf("c.u")}, ${taskIdOf("c.u", "c.n")},
           ${labelIdOf("c.u", `1 + floor(${labelNames.length} * power(${unit("10 + i", "c.u", "c.n")}, 2))::int`)}
    FROM (SELECT u, n, ${unit(5, "u", "n")} AS r
          FROM generate_series(1, ${users}) AS u, generate_series(1, ${tasksPerUser}) AS n) AS c
    CROSS JOIN LATERAL generate_series(1, CASE WHEN c.r < 0.40 THEN 0 WHEN c.r < 0.75 THEN 1
                                               WHEN c.r < 0.92 THEN 2 ELSE 3 END) AS i
    ORDER BY c.n, c.u, i
    ON CONFLICT DO NOTHING`);
}

async function describeData(client: pg.Client): Promise<void> {
  const { rows } = await client.query<Record<string, string>>(
    `
    SELECT (SELECT count(*) FROM tasks)::text AS tasks,
           (SELECT count(*) FROM tasks WHERE is_completed)::text AS completed,
           (SELECT count(*) FROM (SELECT count(*) FROM tasks GROUP BY user_id, created_at HAVING count(*) > 1) t)::text
             AS tie_groups,
           (SELECT relpages FROM pg_class WHERE relname = 'tasks')::text AS heap_pages,
           (SELECT round(correlation::numeric, 3) FROM pg_stats WHERE tablename = 'tasks' AND attname = 'user_id')::text
             AS correlation,
           (SELECT count(*) FROM tasks WHERE due_at IS NOT NULL)::text AS dated,
           (SELECT count(*) FROM tasks WHERE due_all_day)::text AS all_day,
           (SELECT count(*) FROM tasks WHERE NOT is_completed
              AND ((due_all_day AND due_at < date_trunc('day', $1::timestamptz, 'UTC'))
                   OR (NOT due_all_day AND due_at < $1::timestamptz)))::text AS overdue,
           (SELECT string_agg(format('%s: %s', priority, c), ', ' ORDER BY priority)
              FROM (SELECT priority, count(*) AS c FROM tasks GROUP BY priority) p) AS priorities,
           (SELECT count(*) FROM labels)::text AS labels,
           (SELECT count(*) FROM task_labels)::text AS task_labels,
           (SELECT count(DISTINCT task_id) FROM task_labels)::text AS labelled,
           (SELECT string_agg(format('%s %s', l.name, c), ', ' ORDER BY c DESC)
              FROM (SELECT label_id, count(*) AS c FROM task_labels WHERE user_id = 'user-042' GROUP BY label_id) x
              JOIN labels l ON l.id = x.label_id) AS per_label`,
    [now.toISOString()],
  );
  const row = rows[0];
  if (row) {
    console.log(
      `data: ${row.tasks} tasks, ${row.completed} completed, ${row.tie_groups} groups of tasks tied on (user_id, created_at), ` +
        `${row.heap_pages} heap pages, user_id/heap correlation ${row.correlation}`,
    );
    console.log(
      `planning: ${row.dated} with a due date (${row.all_day} all day), ${row.overdue} overdue at ${now.toISOString()} (UTC days); ` +
        `priorities ${row.priorities}; ${row.labels} labels, ${row.task_labels} task_labels on ${row.labelled} tasks`,
    );
    console.log(`user-042's tasks per label: ${row.per_label}`);
  }
  const sizes = await client.query<{ name: string; size: string }>(`
    SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size
    FROM pg_class c
    WHERE c.relname IN ('tasks', 'labels', 'task_labels')
       OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ('tasks'::regclass, 'labels'::regclass,
                                                                        'task_labels'::regclass))
    ORDER BY c.relname`);
  console.log(`sizes: ${sizes.rows.map((r) => `${r.name} ${r.size}`).join(", ")}`);
}

// ---------------------------------------------------------------------------
// Measuring.

function walk(node: PlanNode, visit: (node: PlanNode, depth: number) => void, depth = 0): void {
  visit(node, depth);
  for (const child of node.Plans ?? []) walk(child, visit, depth + 1);
}

const shortNames: Record<string, string> = {
  "Index Scan": "IndexScan",
  "Index Only Scan": "IndexOnly",
  "Seq Scan": "SeqScan",
  Aggregate: "Agg",
  "Gather Merge": "Gather",
};

function describeNode(node: PlanNode): string {
  const extras: string[] = [];
  if (node["Index Name"]) extras.push(node["Index Name"]);
  if (node["Sort Method"]) extras.push(node["Sort Method"]);
  if (node["Subplan Name"]) extras.push(node["Subplan Name"]);
  const removed = node["Rows Removed by Filter"];
  if (removed !== undefined && removed > 0) extras.push(`filtered ${removed}`);
  if (node["Heap Fetches"] !== undefined) extras.push(`heap fetches ${node["Heap Fetches"]}`);
  if (node["Exact Heap Blocks"] !== undefined) extras.push(`heap blocks ${node["Exact Heap Blocks"]}`);
  return extras.length > 0 ? `${node["Node Type"]}(${extras.join("; ")})` : node["Node Type"];
}

async function explainOnce(client: pg.Client, query: Query, format: "JSON" | "TEXT"): Promise<pg.QueryResult> {
  return client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT ${format}) ${query.sql}`, query.params);
}

/** One query under the variant already applied in the open transaction. */
async function measure(client: pg.Client, query: Query, variant: Variant): Promise<Measured> {
  // One unmeasured run to warm the cache and the catalog.
  await explainOnce(client, query, "JSON");
  const times: number[] = [];
  let last: Explained | undefined;
  for (let i = 0; i < runs; i++) {
    const result = await explainOnce(client, query, "JSON");
    const plan: unknown = result.rows[0]?.["QUERY PLAN"];
    if (!isExplained(plan)) throw new Error(`Unexpected EXPLAIN output for ${query.id}`);
    last = plan[0];
    if (last) times.push(last["Execution Time"]);
  }
  if (!last) throw new Error(`No runs for ${query.id}`);
  if (verbose) {
    const text = await explainOnce(client, query, "TEXT");
    console.log(`  ${query.id} / ${variant.name}:`);
    console.log(text.rows.map((r: Record<string, string>) => `    ${r["QUERY PLAN"]}`).join("\n"));
  }
  times.sort((a, b) => a - b);
  const nodes: string[] = [];
  const shape: string[] = [];
  const indexes = new Set<string>();
  let removed = 0;
  walk(last.Plan, (node, depth) => {
    nodes.push(`${depth > 0 ? ">".repeat(depth) : ""}${describeNode(node)}`);
    if (node["Parent Relationship"] !== "InitPlan" && !node["Node Type"].startsWith("Bitmap")) {
      shape.push(shortNames[node["Node Type"]] ?? node["Node Type"]);
    }
    if (node["Node Type"] === "Bitmap Heap Scan") shape.push("BitmapHeap");
    if (node["Index Name"]) indexes.add(node["Index Name"]);
    removed += (node["Rows Removed by Filter"] ?? 0) * node["Actual Loops"];
  });
  return {
    query,
    variant,
    nodes: nodes.join(" "),
    shape: shape.join(">"),
    indexes: [...indexes],
    rows: last.Plan["Actual Rows"],
    removed,
    medianMs: times[Math.floor(times.length / 2)] ?? Number.NaN,
    planningMs: last["Planning Time"],
    hit: last.Plan["Shared Hit Blocks"],
    read: last.Plan["Shared Read Blocks"],
  };
}

/**
 * Every query under every one of its variants. Each variant is one
 * transaction, rolled back after: its DDL (an index built on a million rows
 * takes a while) runs once for all the queries that use it.
 */
async function measureAll(client: pg.Client, queries: Query[]): Promise<Measured[]> {
  const variants = [...new Set(queries.flatMap((query) => query.variants))];
  const results = new Map<Query, Map<Variant, Measured>>();
  for (const variant of variants) {
    const using = queries.filter((query) => query.variants.includes(variant));
    const started = Date.now();
    await client.query("BEGIN");
    try {
      for (const ddl of variant.ddl) await client.query(ddl);
      for (const query of using) {
        const byVariant = results.get(query) ?? new Map<Variant, Measured>();
        byVariant.set(variant, await measure(client, query, variant));
        results.set(query, byVariant);
      }
    } finally {
      await client.query("ROLLBACK");
    }
    console.log(
      `measured ${pad(variant.name, 22)} ${using.length} queries, ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const all: Measured[] = [];
  for (const query of queries) {
    console.log(`\n${query.id}: ${query.label}`);
    for (const variant of query.variants) {
      const measured = results.get(query)?.get(variant);
      if (!measured) throw new Error(`Not measured: ${query.id} / ${variant.name}`);
      printMeasured(measured);
      all.push(measured);
    }
  }
  return all;
}

/** The rows (ids) a query returns, to check that alternative spellings agree. */
async function ids(client: pg.Client, query: Query): Promise<string> {
  const { rows } = await client.query<{ id: string }>(query.sql, query.params);
  return rows.map((r) => r.id).join(",");
}

// ---------------------------------------------------------------------------
// The queries, with parameters taken from the seeded data.

interface Cursor {
  created_at: string;
  id: string;
}

/** A cursor of a list in another order: the sort value (as text, null for no due date) and the id. */
interface Key {
  value: string | null;
  id: string;
}

const user = "user-042";

async function cursorAt(client: pg.Client, userId: string, offset: number): Promise<Cursor> {
  const { rows } = await client.query<Cursor>(
    `SELECT created_at::text AS created_at, id::text AS id FROM tasks WHERE user_id = $1 ${newest} OFFSET $2 LIMIT 1`,
    [userId, offset],
  );
  const row = rows[0];
  if (!row) throw new Error(`No row at offset ${offset} for ${userId}`);
  return row;
}

/** The key of the row at `offset` of `from` (a FROM ... WHERE ... ORDER BY with $1 the user). */
async function keyAt(client: pg.Client, value: string, from: string, offset: number): Promise<Key> {
  const { rows } = await client.query<Key>(
    `SELECT ${value}::text AS value, id::text AS id FROM tasks WHERE user_id = $1 ${from} OFFSET $2 LIMIT 1`,
    [user, offset],
  );
  const row = rows[0];
  if (!row) throw new Error(`No row at offset ${offset} of ${from}`);
  return row;
}

async function countOf(client: pg.Client, where: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM tasks WHERE user_id = $1 AND (${where})`,
    [user],
  );
  return rows[0]?.n ?? 0;
}

/** `sql` is built with `bind`, which adds a parameter and returns its placeholder. */
type Bind = (value: Param) => string;

function define(id: string, label: string, variants: Variant[], build: (bind: Bind) => string): Query {
  const params: Param[] = [];
  const sql = build((value) => {
    params.push(value);
    return `$${params.length}`;
  });
  return { id, label, sql, params, variants };
}

const iso = (date: Date) => date.toISOString();

/**
 * listTasks' due-date conditions before bdbf601, as Prisma wrote them: all-day
 * tasks compared by day (midnight UTC), timed ones by instant, each flag a
 * parameter of its own, and no range enclosing the two (the "before" rows).
 */
const dueEither = (p: Bind, allDay: string, timed: string) =>
  `((due_all_day = ${p(true)} AND ${allDay}) OR (due_all_day = ${p(false)} AND ${timed}))`;

function dueOverdue(p: Bind, zone: string): string {
  return `is_completed = ${p(false)} AND ${dueEither(p, `due_at < ${p(iso(dayOf(now, zone)))}`, `due_at < ${p(iso(now))}`)}`;
}

function dueAfter(p: Bind, after: Date, zone: string): string {
  return dueEither(p, `due_at >= ${p(iso(dayOf(after, zone)))}`, `due_at >= ${p(iso(after))}`);
}

function dueBefore(p: Bind, before: Date, zone: string): string {
  const day = dayOf(before, zone);
  const begun = startOfDay(day, zone).getTime() < before.getTime();
  return dueEither(p, `due_at ${begun ? "<=" : "<"} ${p(iso(day))}`, `due_at < ${p(iso(before))}`);
}

/**
 * listTasks' label filter before bdbf601, as Prisma spelled
 * `labels: { some: { label: { nameKey } } }`: a correlated EXISTS over
 * task_labels LEFT JOIN labels on the composite key (`=` for one allOf name,
 * IN for anyOf). `n` numbers the aliases.
 */
function carrying(p: Bind, keys: readonly string[], n: number, anyOf: boolean): string {
  const [t, j] = [`t${2 * n}`, `j${2 * n + 1}`];
  const match = anyOf ? `IN (${keys.map((key) => p(key)).join(",")})` : `= ${p(keys[0] ?? "")}`;
  return `EXISTS(SELECT ${t}.task_id, ${t}.user_id FROM task_labels AS ${t}
          LEFT JOIN labels AS ${j} ON (${j}.id, ${j}.user_id) = (${t}.label_id, ${t}.user_id)
          WHERE (${j}.name_key ${match} AND (${j}.id IS NOT NULL) AND (tasks.id, tasks.user_id) = (${t}.task_id, ${t}.user_id)
                 AND ${t}.task_id IS NOT NULL AND ${t}.user_id IS NOT NULL))`;
}

// ---------------------------------------------------------------------------
// What listTasks sends: its statements, from Prisma's query log.

/** One statement as Prisma logged it: its SQL and the parameters it was sent with. */
interface Sent {
  sql: string;
  params: Param[];
}

/** What a list request shares here: the user, pages of 20 (at most 100), `now` of the data. */
type ListOptions = Omit<ListTasksOptions, "userId" | "status" | "orderBy" | "defaultPageSize" | "maxPageSize"> &
  Partial<Pick<ListTasksOptions, "status" | "orderBy" | "maxPageSize">>;

/** The columns a cursor of any order is made from. */
type Row = Pick<Task, "id" | TaskOrderField>;

/** A page of a list, with what listTasks sent for it. */
interface Listed {
  /** Every statement, in order: label ids looked up, one per index range read, the count if asked for. */
  sent: Sent[];
  tasks: Row[];
  cursorOf(task: Row): string;
}

interface Lister {
  /** Runs listTasks for `user` (and its totalCount when `count`), recording what Prisma sends. */
  list(options: ListOptions, count?: boolean): Promise<Listed>;
  /** The cursor a client would hold for `key` in a list ordered by `field`. */
  cursor(field: "createdAt" | "dueAt" | "priority", key: Key): Promise<string>;
  close(): Promise<void>;
}

function paramsOf(logged: string): Param[] {
  const params: unknown = JSON.parse(logged);
  const scalar = (value: unknown): value is Param => ["string", "number", "boolean"].includes(typeof value);
  if (!Array.isArray(params) || !params.every(scalar)) throw new Error(`Parameters not understood: ${logged}`);
  return params;
}

/**
 * A Prisma client on the scratch database, on the adapter the service uses
 * for PostgreSQL, with its query log as events: the SQL of each statement and
 * its parameters. The log has timestamps as ISO strings; the adapter sends
 * them as UTC wall time without an offset, which is the same instant when
 * the session's TimeZone is UTC (the server's default here).
 */
function openLister(url: string): Lister {
  const prisma = new PrismaClient({
    adapter: new PrismaPg({ connectionString: url, max: 1 }),
    log: [{ emit: "event", level: "query" }],
  });
  let log: Sent[] = [];
  prisma.$on("query", (event) => log.push({ sql: event.query, params: paramsOf(event.params) }));
  const list = async (options: ListOptions, count = false): Promise<Listed> => {
    log = [];
    const page = await listTasks(prisma, {
      userId: user,
      status: "ALL",
      orderBy: { field: "createdAt", direction: "desc" },
      defaultPageSize: 20,
      maxPageSize: 100,
      now,
      ...options,
    });
    if (count) await page.totalCount();
    return { sent: log, tasks: page.tasks, cursorOf: page.cursorOf };
  };
  return {
    list,
    async cursor(field, { value, id }) {
      const { cursorOf } = await list({ orderBy: { field, direction: "asc" }, first: 0 });
      const row: Row = { id, createdAt: now, updatedAt: now, title: "", dueAt: null, priority: 0 };
      // Timestamps as PostgreSQL prints them (`2026-01-01 12:00:00.123+00`), which Date reads.
      const at = value === null ? null : new Date(value);
      if (field === "priority") return cursorOf({ ...row, priority: Number(value) });
      return cursorOf(field === "dueAt" ? { ...row, dueAt: at } : { ...row, createdAt: at ?? now });
    },
    close: () => prisma.$disconnect(),
  };
}

/** A label lookup (labelIdsOf), not a read of tasks. */
const isLabelLookup = (sent: Sent) => sent.sql.includes('FROM "public"."labels"');

async function buildQueries(client: pg.Client, lister: Lister): Promise<Query[]> {
  const perUser = await countOf(client, "true");
  const half = Math.floor(perUser / 2);
  // The cursor a client holds after page 1 (row 20), and one deep in the list (half way).
  const page2 = await cursorAt(client, user, 19);
  const deep = await cursorAt(client, user, half - 1);
  const deepLabel = `cursor = row ${half}`;
  const other = await client.query<{ id: string; mine: string }>(
    `SELECT (SELECT id::text FROM tasks WHERE user_id = 'user-043' ORDER BY created_at LIMIT 1 OFFSET $2) AS id,
            (SELECT id::text FROM tasks WHERE user_id = $1 ORDER BY created_at LIMIT 1 OFFSET $3) AS mine`,
    [user, Math.floor(perUser * 0.4), Math.floor(perUser * 0.6)],
  );
  const someoneElses = other.rows[0]?.id ?? "";
  const mine = other.rows[0]?.mine ?? "";
  const after = (c: Cursor) => lister.cursor("createdAt", { value: c.created_at, id: c.id });
  const select = (p: Bind) => `SELECT ${columns} FROM tasks WHERE user_id = ${p(user)}`;

  // Other spellings of a newest-first keyset than the one listTasks sends
  // (created_at <= x AND (created_at < x OR id < y)).
  const rowCompare = (c: Cursor, id: string): Other => ({
    id,
    label: "not what listTasks sends: a row comparison, (created_at, id) < (x, y)",
    variants: [asIs],
    sql: (p) =>
      `${select(p)} AND (created_at, id) < (${p(c.created_at)}::timestamptz, ${p(c.id)}::uuid) ${newest} LIMIT 21`,
  });
  const orExpanded = (c: Cursor, id: string): Other => ({
    id,
    label: "not what listTasks sends: the OR without the created_at <= x bound",
    variants: [asIs],
    sql: (p) => {
      const at = `${p(c.created_at)}::timestamptz`;
      return `${select(p)} AND (created_at < ${at} OR (created_at = ${at} AND id < ${p(c.id)}::uuid)) ${newest} LIMIT 21`;
    },
  });
  // The SQL Prisma 7.10 sends for `findMany({ where: { userId }, cursor: { id }, skip: 1, take: 21,
  // orderBy: [{ createdAt: "desc" }, { id: "desc" }] })` (seen in its query log, built by
  // cursor_condition.rs in prisma-engines): no row comparison, but one subselect per order field,
  // an OR of ANDs with <= on the last field, and OFFSET 1 for `skip: 1`.
  const prismaShape = (c: Cursor, id: string): Other => ({
    id,
    label: "not what listTasks sends: Prisma's own cursor (subselects, OR, OFFSET 1)",
    variants: [asIs, dropCreated],
    sql: (p) => {
      const sub = (column: string) => `(SELECT t0.${column} FROM tasks AS t0 WHERE (t0.id) = (${p(c.id)}::uuid))`;
      return `${select(p)} AND ((created_at = ${sub("created_at")} AND id <= ${sub("id")})
              OR (created_at < ${sub("created_at")})) ${newest} LIMIT 21 OFFSET 1`;
    },
  });

  const trigram: Variant = {
    name: "+trgm gin",
    ddl: [
      "CREATE EXTENSION IF NOT EXISTS pg_trgm",
      "CREATE INDEX tasks_title_trgm_idx ON tasks USING gin (title gin_trgm_ops)",
      "CREATE INDEX tasks_description_trgm_idx ON tasks USING gin (description gin_trgm_ops)",
    ],
  };
  const search = (word: string, id: string, label: string): Case => ({
    id,
    label: `search '${word}' (${label}), newest first`,
    variants: [asIs, dropBoth, trigram],
    options: { search: word },
  });
  const dropPkey = "ALTER TABLE tasks DROP CONSTRAINT tasks_pkey";
  const status = (done: boolean) => (done ? "COMPLETED" : "OPEN");

  const items: (Case | Query)[] = [
    ...[20, 50, 100].map(
      (n): Case => ({
        id: `Q1/${n}`,
        label: `newest first, page of ${n}`,
        variants: userIndexVariants,
        options: { first: n },
      }),
    ),
    {
      id: "Q2",
      label: "newest first, cursor = row 20",
      variants: userIndexVariants,
      options: { after: await after(page2) },
      others: [rowCompare(page2, "Q2/row"), orExpanded(page2, "Q2/or"), prismaShape(page2, "Q2/prisma")],
    },
    {
      id: "Q2/deep",
      label: `newest first, ${deepLabel}`,
      variants: [asIs, dropCreated],
      options: { after: await after(deep) },
      others: [rowCompare(deep, "Q2/row-deep"), orExpanded(deep, "Q2/or-deep"), prismaShape(deep, "Q2/prisma-deep")],
    },
    ...[false, true].map(
      (done): Case => ({
        id: `Q3/${done ? "done" : "open"}`,
        label: `status ${status(done)}, newest first`,
        variants: [...userIndexVariants, includeStatus],
        options: { status: status(done) },
      }),
    ),
    {
      id: "Q3/done-deep",
      label: `status COMPLETED, after ${deepLabel}`,
      variants: [asIs, dropStatus],
      options: { status: "COMPLETED", after: await after(deep) },
    },
    {
      // findTask, not a list: Prisma's findFirst, written out.
      id: "Q4",
      label: "one task of its user",
      sql: `SELECT ${columns} FROM tasks WHERE id = $1::uuid AND user_id = $2`,
      params: [mine, user],
      variants: [
        asIs,
        { name: "-pkey", ddl: [dropPkey] },
        { name: "-pkey -id_user key", ddl: [dropPkey, ...dropIdUser] },
        { name: "-pkey -id_user -both", ddl: [dropPkey, ...dropIdUser, ...dropBoth.ddl] },
      ],
    },
    {
      id: "Q4/other",
      label: "another user's task (not found)",
      sql: `SELECT ${columns} FROM tasks WHERE id = $1::uuid AND user_id = $2`,
      params: [someoneElses, user],
      variants: [asIs],
    },
    // The counts (totalCount) of a list of more than a page.
    { id: "Q5", label: "count all of a user", variants: userIndexVariants, options: {}, count: true },
    ...[false, true].map(
      (done): Case => ({
        id: `Q5/${done ? "done" : "open"}`,
        label: `count status ${status(done)}`,
        variants: [...userIndexVariants, includeStatus],
        options: { status: status(done) },
        count: true,
      }),
    ),
    {
      id: "Q6/updated",
      label: "updated_at DESC, id DESC",
      variants: [
        asIs,
        dropBoth,
        {
          name: "+updated idx",
          ddl: ["CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at DESC, id DESC)"],
        },
      ],
      options: { orderBy: { field: "updatedAt", direction: "desc" } },
    },
    {
      id: "Q6/title",
      label: "title ASC, id ASC",
      variants: [
        asIs,
        dropBoth,
        { name: "+title idx", ddl: ["CREATE INDEX tasks_user_title_idx ON tasks (user_id, title, id)"] },
      ],
      options: { orderBy: { field: "title", direction: "asc" } },
    },
    search("invoice", "Q7/common", "in ~5% of tasks"),
    search("zeppelin", "Q7/rare", "1 task per user"),
    search("xylophone", "Q7/absent", "no match"),
  ];
  return [...(await sentFor(lister, items)), ...(await planningQueries(client, lister, perUser))];
}

/** The day, week and label of the due-date and label queries, shared with the checks. */
interface Planning {
  today: Date;
  weekStart: Date;
  weekEnd: Date;
  rarest: string;
}

async function planningOf(client: pg.Client): Promise<Planning> {
  const today = dayOf(now, dayZone);
  // The week (Monday to Monday) that holds `today`, as a client in that zone would ask for it.
  const monday = addDays(today, -((today.getUTCDay() + 6) % 7));
  const rarest = await client.query<{ key: string }>(
    `SELECT l.name_key AS key FROM labels l LEFT JOIN task_labels tl ON tl.label_id = l.id
     WHERE l.user_id = $1 GROUP BY l.id, l.name_key ORDER BY count(tl.task_id), l.name_key LIMIT 1`,
    [user],
  );
  return {
    today,
    weekStart: startOfDay(monday, dayZone),
    weekEnd: startOfDay(addDays(monday, 7), dayZone),
    rarest: rarest.rows[0]?.key ?? "someday",
  };
}

/**
 * One request to listTasks. Its first statement (after any label lookup) is
 * measured as `id`; a page that spans index ranges sends one statement per
 * range (by due date: the no-due-date segment after the dated one; by
 * priority from a cursor: the priorities beyond the cursor's), measured as
 * `next`. `others` are other spellings of the same page, checked to return
 * it: what listTasks sent until bdbf601 where the difference is instructive,
 * or what it could send.
 */
/** Another spelling of a case's page, written out (`bind` adds a parameter). */
interface Other {
  id: string;
  label: string;
  variants: Variant[];
  sql: (bind: Bind) => string;
}

interface Case {
  id: string;
  label: string;
  variants: Variant[];
  options: ListOptions;
  next?: { id: string; label: string; variants: Variant[] }[];
  /** The label lookup (labelIdsOf) the request starts with, measured too. */
  lookup?: { id: string; label: string };
  others?: Other[];
  /** Measures the count of the filter (totalCount, asked for on a list of more than a page) instead of the page. */
  count?: boolean;
}

/** The queries of each case: what listTasks sent for it, and its other spellings; queries as they are. */
async function sentFor(lister: Lister, items: (Case | Query)[]): Promise<Query[]> {
  const queries: Query[] = [];
  for (const item of items) {
    if ("sql" in item) {
      queries.push(item);
      continue;
    }
    const listed = await lister.list(item.options, item.count);
    const reads = listed.sent.filter((sent) => !isLabelLookup(sent));
    // A first page holding every match is its own count: then no count is sent.
    const statements = item.count ? reads.filter((sent) => sent.sql.startsWith("SELECT COUNT(*)")) : reads;
    if (item.count && statements.length === 0) console.log(`note: listTasks sent no count for ${item.id} (one page)`);
    const lookup = listed.sent.find(isLabelLookup);
    if (item.lookup && lookup) queries.push({ ...item.lookup, ...lookup, variants: [asIs] });
    statements.forEach((sent, i) => {
      const named = i === 0 ? item : item.next?.[i - 1];
      queries.push({
        id: named?.id ?? `${item.id}#${i + 1}`,
        label: named?.label ?? `then statement ${i + 1} of the same request`,
        variants: named?.variants ?? [asIs],
        ...sent,
      });
    });
    const missing = (item.next ?? []).slice(Math.max(0, statements.length - 1));
    if (missing.length > 0) {
      console.log(
        `note: listTasks sent ${statements.length} statement(s) for ${item.id}; ` +
          `not measured: ${missing.map((m) => m.id).join(", ")}`,
      );
    }
    const ids = listed.tasks.map((task) => task.id);
    for (const spelling of item.others ?? []) {
      queries.push({ ...define(spelling.id, spelling.label, spelling.variants, spelling.sql), samePage: ids });
    }
  }
  return queries;
}

/**
 * The list with the filters and orders of due dates, priorities and labels:
 * each case is a request to listTasks (src/db/tasks.ts) on the scratch
 * database, and its queries are the statements Prisma logged for it, SQL and
 * parameters as sent (LIMIT 21 for a page of 20: one more, to know whether
 * there is a next page). Their `others` are the shapes listTasks sent until
 * bdbf601, where the difference is instructive, written out as Prisma
 * spelled them.
 */
async function planningQueries(client: pg.Client, lister: Lister, perUser: number): Promise<Query[]> {
  const { today, weekStart, weekEnd, rarest } = await planningOf(client);
  const dated = await countOf(client, "due_at IS NOT NULL");
  const undated = perUser - dated;
  const byDue = (direction: "ASC" | "DESC") => `AND due_at IS NOT NULL ORDER BY due_at ${direction}, id ${direction}`;
  const dueAscDeep = await keyAt(client, "due_at", byDue("ASC"), dated >> 1);
  const dueDescDeep = await keyAt(client, "due_at", byDue("DESC"), dated >> 1);
  const datedLast = await keyAt(client, "due_at", byDue("ASC"), dated - 1);
  const nullAscDeep = await keyAt(client, "due_at", "AND due_at IS NULL ORDER BY id", undated >> 1);
  const nullDescDeep = await keyAt(client, "due_at", "AND due_at IS NULL ORDER BY id DESC", undated >> 1);
  const byPriority = "ORDER BY priority DESC, id DESC";
  const prioMid = await keyAt(client, "priority", byPriority, Math.floor(perUser / 2) - 1);
  const prioDeep = await keyAt(client, "priority", byPriority, Math.floor(perUser * 0.9) - 1);
  // Ten tasks before the last one of priority high (3): the page is the rest of high, then medium.
  const highOrAbove = await countOf(client, "priority >= 3");
  const prioEdge = await keyAt(client, "priority", byPriority, highOrAbove - 11);
  const page = await client.query<{ id: string }>(
    `SELECT id::text AS id FROM tasks WHERE user_id = $1 ${newest} LIMIT 21`,
    [user],
  );
  const select = (p: Bind) => `SELECT ${columns} FROM tasks WHERE user_id = ${p(user)}`;
  const page21 = `${newest} LIMIT 21`;
  const day = today.toISOString().slice(0, 10);
  const week = `${weekStart.toISOString().slice(0, 16)}Z..${weekEnd.toISOString().slice(0, 16)}Z`;
  const todayCount = await countOf(
    client,
    `(due_all_day AND due_at = '${iso(today)}') OR (NOT due_all_day AND
    due_at >= '${iso(startOfDay(today, dayZone))}' AND due_at < '${iso(startOfDay(addDays(today, 1), dayZone))}')`,
  );
  const overdue = { timeZone: readmeZone, overdue: true };
  const thisWeek = { timeZone: dayZone, after: weekStart, before: weekEnd };
  const weekBefore = (p: Bind) => `${dueAfter(p, weekStart, dayZone)} AND ${dueBefore(p, weekEnd, dayZone)}`;
  const dueAsc = { field: "dueAt", direction: "asc" } as const;
  const dueDesc = { field: "dueAt", direction: "desc" } as const;
  const prioDesc = { field: "priority", direction: "desc" } as const;
  const rowOf = (perMille: number) => `row ${Math.floor((perUser * perMille) / 1000)}`;

  const items: (Case | Query)[] = [
    // Due dates.
    {
      id: "D1/overdue",
      label: `overdue (${readmeZone}), newest first`,
      variants: [asIs, dropDue, dropStatus, statusDue],
      options: { due: overdue },
    },
    {
      id: "D1/overdue-by-due",
      label: `overdue (${readmeZone}), by due date`,
      variants: [asIs, dropDue, statusDue],
      options: { due: overdue, orderBy: dueAsc },
    },
    {
      id: "D2/today",
      label: `due on ${day} in ${dayZone} (${todayCount} tasks), newest first`,
      variants: [asIs, dropDue],
      options: { due: { timeZone: dayZone, on: today } },
    },
    {
      id: "D2/today-by-due",
      label: `due on ${day} in ${dayZone}, by due date`,
      variants: [asIs, dropDue],
      options: { due: { timeZone: dayZone, on: today }, orderBy: dueAsc },
      next: [
        {
          id: "D2/today-nulls",
          label: "then the no-due-date segment for the rest of the page (matches nothing)",
          variants: [asIs, dropDue],
        },
      ],
    },
    {
      id: "D3/week",
      label: `due this week ${week} (${dayZone}), newest first`,
      variants: [asIs, dropDue],
      options: { due: thisWeek },
      others: [
        {
          id: "D3/week-before",
          label: "before: without the range enclosing the all-day and timed bounds",
          variants: [asIs],
          sql: (p) => `${select(p)} AND ${weekBefore(p)} ${page21}`,
        },
      ],
    },
    {
      id: "D3/week-by-due",
      label: "due this week, by due date",
      variants: [asIs, dropDue],
      options: { due: thisWeek, orderBy: dueAsc },
      others: [
        {
          id: "D3/week-by-due-before",
          label: "before: without the enclosing range",
          variants: [asIs],
          sql: (p) => `${select(p)} AND ${weekBefore(p)} AND due_at IS NOT NULL ORDER BY due_at ASC, id ASC LIMIT 21`,
        },
      ],
    },
    {
      id: "D4/no-due",
      label: "no due date, newest first",
      variants: [asIs, dropDue],
      options: { due: { timeZone: "UTC", hasDue: false } },
    },
    {
      id: "D5/open-by-due",
      label: "status OPEN, by due date (the to-do view)",
      variants: [asIs, dropDue, statusDue],
      options: { status: "OPEN", orderBy: dueAsc },
    },
    // Priorities.
    {
      id: "P1/high",
      label: "priority high or urgent (IN (3, 4)), newest first",
      variants: [asIs, dropPriority],
      options: { priorities: [3, 4] },
    },
    // Ordering by due date: the tasks with one, then those without (ordered by due_at too, all null).
    {
      id: "S1/due-asc",
      label: "by due date ascending, page 1",
      variants: [asIs, dropDue],
      options: { orderBy: dueAsc },
    },
    {
      id: "S1/due-desc",
      label: "by due date descending, page 1",
      variants: [asIs, dropDue],
      options: { orderBy: dueDesc },
    },
    {
      id: "S1/due-asc-deep",
      label: `by due date ascending, cursor half way (row ${dated >> 1})`,
      variants: [asIs, dropDue],
      options: { orderBy: dueAsc, after: await lister.cursor("dueAt", dueAscDeep) },
    },
    {
      id: "S1/due-desc-deep",
      label: "by due date descending, cursor half way",
      variants: [asIs],
      options: { orderBy: dueDesc, after: await lister.cursor("dueAt", dueDescDeep) },
    },
    {
      id: "S1/dated-end",
      label: `by due date ascending, cursor = the last task with a due date (row ${dated}): nothing left of its segment`,
      variants: [asIs],
      options: { orderBy: dueAsc, after: await lister.cursor("dueAt", datedLast) },
      next: [
        {
          id: "S1/nulls",
          label: "then the first page of the no-due-date segment",
          variants: [asIs, dropDue],
        },
      ],
      others: [
        {
          id: "S1/nulls-before",
          label: "before: the no-due-date segment ordered by id alone",
          variants: [asIs],
          sql: (p) => `${select(p)} AND due_at IS NULL ORDER BY id ASC LIMIT 21`,
        },
      ],
    },
    {
      id: "S1/nulls-deep",
      label: "by due date ascending, cursor half way into no due date",
      variants: [asIs, dropDue],
      options: { orderBy: dueAsc, after: await lister.cursor("dueAt", nullAscDeep) },
      others: [
        {
          id: "S1/nulls-deep-before",
          label: "before: ordered by id alone",
          variants: [asIs],
          sql: (p) => `${select(p)} AND due_at IS NULL AND id > ${p(nullAscDeep.id)} ORDER BY id ASC LIMIT 21`,
        },
      ],
    },
    {
      id: "S1/nulls-desc-deep",
      label: "by due date descending, cursor half way into no due date",
      variants: [asIs],
      options: { orderBy: dueDesc, after: await lister.cursor("dueAt", nullDescDeep) },
    },
    // Ordering by priority: from a cursor, the rest of its priority by id, then the priorities beyond it.
    {
      id: "S2/prio",
      label: "by priority descending, page 1",
      variants: [asIs, dropPriority],
      options: { orderBy: prioDesc },
    },
    {
      id: "S2/prio-mid",
      label: `by priority, cursor = ${rowOf(500)} (priority ${prioMid.value}): the rest of its priority`,
      variants: [asIs],
      options: { orderBy: prioDesc, after: await lister.cursor("priority", prioMid) },
    },
    {
      id: "S2/prio-deep",
      label: `by priority, cursor = ${rowOf(900)} (priority ${prioDeep.value}): the rest of its priority`,
      variants: [asIs, dropPriority],
      options: { orderBy: prioDesc, after: await lister.cursor("priority", prioDeep) },
      others: [
        {
          id: "S2/prio-deep-before",
          label: "before: one range, priority <= the cursor's AND (priority < it OR id < the cursor's)",
          variants: [asIs],
          sql: (p) => {
            const value = Number(prioDeep.value);
            return `${select(p)} AND priority <= ${p(value)} AND (priority < ${p(value)} OR id < ${p(prioDeep.id)}) ${byPriority} LIMIT 21`;
          },
        },
      ],
    },
    {
      id: "S2/prio-edge",
      label: `by priority, cursor = row ${highOrAbove - 10}, ten tasks before the last of priority ${prioEdge.value}`,
      variants: [asIs, dropPriority],
      options: { orderBy: prioDesc, after: await lister.cursor("priority", prioEdge) },
      next: [
        {
          id: "S2/prio-edge-next",
          label: `then the priorities below the cursor's (priority < ${prioEdge.value})`,
          variants: [asIs, dropPriority],
        },
      ],
    },
    // Labels: the user's label ids looked up by name first, then task_labels by label id.
    {
      id: "L1/any",
      label: "labels anyOf home, errands; newest first",
      variants: [asIs, dropTaskLabelsPkey, dropLabelIdx, labelIdxWithUser, labelStats],
      options: { labels: { anyOf: ["home", "Errands"] } },
      lookup: { id: "L0/label-ids", label: "the label ids of the filter's names (labelIdsOf), looked up first" },
      others: [
        {
          id: "L1/any-names",
          label: "before: task_labels joined to labels by name",
          variants: [asIs, oldLabels],
          sql: (p) => `${select(p)} AND ${carrying(p, ["home", "errands"], 0, true)} ${page21}`,
        },
      ],
    },
    {
      id: "L1/any-rare",
      label: `labels anyOf ${rarest} (the user's least used); newest first`,
      variants: [asIs, dropLabelIdx, labelIdxWithUser, labelStats],
      options: { labels: { anyOf: [rarest] } },
    },
    {
      id: "L2/all",
      label: "labels allOf home, work; newest first",
      variants: [asIs, dropLabelIdx, labelIdxWithUser, labelStats],
      options: { labels: { allOf: ["home", "work"] } },
    },
    {
      id: "L3/readme",
      label: `overdue (${readmeZone}), label home, most urgent first (the README's example)`,
      variants: [asIs, dropPriority, dropDue, statusDue, labelIdxWithUser, labelStats],
      options: { due: overdue, labels: { anyOf: ["home"] }, orderBy: prioDesc },
      others: [
        {
          id: "L3/readme-names",
          label: "before: label joined by name, overdue without the enclosing range",
          variants: [asIs, oldLabels],
          sql: (p) =>
            `${select(p)} AND ${dueOverdue(p, readmeZone)} AND ${carrying(p, ["home"], 0, true)} ${byPriority} LIMIT 21`,
        },
      ],
    },
    define("L4/labels", "the label list with task counts (Prisma's _count shape)", [asIs, labelIdxWithUser], (p) => {
      return `SELECT labels.id, labels.user_id, labels.name, labels.name_key, labels.color, labels.created_at,
              labels.updated_at, COALESCE(aggr._aggr_count_tasks, 0) AS _aggr_count_tasks
              FROM labels LEFT JOIN (SELECT task_labels.label_id, task_labels.user_id, COUNT(*) AS _aggr_count_tasks
                                     FROM task_labels WHERE 1=1 GROUP BY task_labels.label_id, task_labels.user_id) AS aggr
                ON (labels.id = aggr.label_id AND labels.user_id = aggr.user_id)
              WHERE labels.user_id = ${p(user)} ORDER BY labels.name_key ASC, labels.id ASC OFFSET ${p(0)}`;
    }),
    define("L5/page-labels", "the labels of a page of 21 tasks (Prisma's include)", [asIs, dropTaskLabelsPkey], (p) => {
      return `SELECT task_labels.task_id, task_labels.label_id, task_labels.user_id FROM task_labels
              LEFT JOIN labels AS orderby_1 ON (orderby_1.id, orderby_1.user_id) = (task_labels.label_id, task_labels.user_id)
              WHERE (task_labels.user_id IN (${p(user)}) AND task_labels.task_id IN (${page.rows.map((r) => p(r.id)).join(",")}))
              ORDER BY orderby_1.name_key ASC, task_labels.label_id ASC OFFSET ${p(0)}`;
    }),
    // Counts (totalCount, when a client asks for it).
    {
      id: "C1/overdue",
      label: "count overdue (totalCount)",
      variants: [asIs, dropDue, statusDue],
      options: { due: overdue },
      count: true,
    },
    {
      id: "C1/home",
      label: "count label home (totalCount)",
      variants: [asIs, dropLabelIdx, labelIdxWithUser, labelStats],
      options: { labels: { anyOf: ["home"] } },
      count: true,
    },
  ];

  return sentFor(lister, items);
}

/** Other spellings of a list (before bdbf601, or not sent) must give the page listTasks gives. */
async function checkOthers(client: pg.Client, queries: Query[]): Promise<void> {
  for (const query of queries) {
    if (!query.samePage) continue;
    const rows = (await ids(client, query)).split(",").slice(0, query.samePage.length);
    const same = rows.join(",") === query.samePage.join(",");
    console.log(
      `check: ${query.id} returns ${same ? "the page" : "NOT the page"} listTasks returns (${rows.length} rows)`,
    );
  }
}

/**
 * Walks the user's list with listTasks itself, pages of 100, forward with
 * `after` or backward with `last`/`before`: it must visit the same rows as
 * one ORDER BY (by due date, those without one last either way).
 */
async function checkWalk(
  client: pg.Client,
  lister: Lister,
  field: "createdAt" | "dueAt" | "priority",
  direction: "asc" | "desc",
  backward = false,
): Promise<void> {
  const size = 100;
  const pages: string[][] = [];
  let statements = 0;
  let cursor: string | undefined;
  for (;;) {
    const paging = backward
      ? { last: size, ...(cursor ? { before: cursor } : {}) }
      : { first: size, ...(cursor ? { after: cursor } : {}) };
    const { sent, tasks, cursorOf } = await lister.list({ orderBy: { field, direction }, ...paging });
    statements += sent.length;
    if (tasks.length === 0) break;
    pages.push(tasks.map((task) => task.id));
    const edge = backward ? tasks[0] : tasks[tasks.length - 1];
    if (tasks.length < size || !edge) break;
    cursor = cursorOf(edge);
  }
  const seen = (backward ? pages.reverse() : pages).flat();
  const column = { createdAt: "created_at", dueAt: "due_at", priority: "priority" }[field];
  const order = direction.toUpperCase();
  const all = await client.query<{ id: string }>(
    `SELECT id::text AS id FROM tasks WHERE user_id = $1
     ORDER BY ${field === "dueAt" ? "due_at IS NULL, " : ""}${column} ${order}, id ${order}`,
    [user],
  );
  const same = seen.join(",") === all.rows.map((r) => r.id).join(",");
  console.log(
    `check: listTasks by ${field} ${direction}, ${backward ? "backward" : "forward"}, over ${user}: ` +
      `${seen.length} rows in ${pages.length} pages, ${statements} statements, ` +
      `${same ? "identical to" : "DIFFERENT from"} one ORDER BY`,
  );
}

/**
 * listTasks' due-date filters, whose bounds src/calendar.ts computes in JS,
 * select what PostgreSQL's own time zone arithmetic does.
 */
async function checkDueBounds(client: pg.Client, lister: Lister, perUser: number): Promise<void> {
  const { today, weekStart, weekEnd } = await planningOf(client);
  const date = iso(today).slice(0, 10);
  // An all-day task is due throughout its day in the zone: [start of day, start of next day).
  const allDayFrom = (zone: string) => `(((due_at AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE '${zone}')`;
  const allDayTo = (zone: string) => `(((due_at AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE '${zone}')`;
  const cases: [string, ListOptions["due"], string][] = [
    [
      `due on ${date} in ${dayZone}`,
      { timeZone: dayZone, on: today },
      `(due_all_day AND (due_at AT TIME ZONE 'UTC')::date = '${date}')
       OR (NOT due_all_day AND (due_at AT TIME ZONE '${dayZone}')::date = '${date}')`,
    ],
    [
      `overdue in ${readmeZone}`,
      { timeZone: readmeZone, overdue: true },
      `NOT is_completed AND ((due_all_day AND ${allDayTo(readmeZone)} <= '${iso(now)}')
                             OR (NOT due_all_day AND due_at < '${iso(now)}'))`,
    ],
    [
      `due this week in ${dayZone}`,
      { timeZone: dayZone, after: weekStart, before: weekEnd },
      `(due_all_day AND ${allDayTo(dayZone)} > '${iso(weekStart)}' AND ${allDayFrom(dayZone)} < '${iso(weekEnd)}')
       OR (NOT due_all_day AND due_at >= '${iso(weekStart)}' AND due_at < '${iso(weekEnd)}')`,
    ],
  ];
  for (const [what, due, where] of cases) {
    // Every match in one page.
    const { tasks } = await lister.list({ due, first: perUser, maxPageSize: perUser });
    const listed = tasks.map((task) => task.id).sort();
    const expected = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM tasks WHERE user_id = $1 AND (${where}) ORDER BY id`,
      [user],
    );
    const same = listed.join(",") === expected.rows.map((r) => r.id).join(",");
    console.log(
      `check: listTasks ${what} selects ${listed.length} tasks, ${same ? "the same as" : "NOT the same as"} PostgreSQL's AT TIME ZONE`,
    );
  }
}

// ---------------------------------------------------------------------------
// Output.

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function printMeasured(m: Measured): void {
  console.log(
    `  ${pad(m.variant.name, 22)} ${pad(`${m.medianMs.toFixed(3)} ms`, 11)} hit ${pad(String(m.hit), 5)} read ${pad(
      String(m.read),
      4,
    )} rows ${pad(String(m.rows), 5)} plan ${m.planningMs.toFixed(3)} ms | ${m.nodes}`,
  );
}

function printSummary(all: Measured[]): void {
  console.log(
    `\nSummary (median of ${runs} runs; buffers: shared hit/read of the last run; filtered: rows read and discarded)`,
  );
  const table = [
    ["query", "variant", "plan", "indexes", "ms", "hit", "read", "rows", "filtered"],
    ...all.map((m) => [
      m.query.id,
      m.variant.name,
      m.shape,
      m.indexes.join("+") || "-",
      m.medianMs.toFixed(3),
      String(m.hit),
      String(m.read),
      String(m.rows),
      String(m.removed),
    ]),
  ];
  const widths = table[0]?.map((_, i) => Math.max(...table.map((row) => (row[i] ?? "").length))) ?? [];
  for (const row of table)
    console.log(
      row
        .map((cell, i) => pad(cell, widths[i] ?? 0))
        .join(" ")
        .trimEnd(),
    );
}

// ---------------------------------------------------------------------------

async function dropScratch(): Promise<void> {
  await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
}

async function main(): Promise<void> {
  if (reuse === undefined) await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${scratch}`));
  console.log(reuse === undefined ? `scratch database ${scratch}` : `reusing database ${scratch} as seeded`);
  // Interrupted (Ctrl-C, or the reader of a pipe went away): still drop the scratch database.
  const bail = () => {
    (keep ? Promise.resolve() : dropScratch()).finally(() => process.exit(130));
  };
  process.once("SIGINT", bail);
  process.once("SIGTERM", bail);
  process.stdout.on("error", bail);
  try {
    await admin(withDatabase(adminUrl, scratch), async (client) => {
      if (reuse === undefined) {
        const applied = await applyMigrations(client);
        console.log(`migrations: ${applied.join(", ")}`);
        console.log(`seeding ${users} users x ${tasksPerUser} tasks`);
        let total = 0;
        total += await timed("tasks", () => seed(client));
        total += await timed("labels and task_labels", () => seedLabels(client));
        // VACUUM as well: autovacuum would have set the visibility map on a table
        // of this age, which index-only scans (the counts) depend on.
        total += await timed("VACUUM ANALYZE", async () => {
          for (const table of ["users", "tasks", "labels", "task_labels"])
            await client.query(`VACUUM ANALYZE ${table}`);
        });
        console.log(`seeded in ${total.toFixed(1)} s`);
      }
      await describeData(client);
      const version = await client.query<{ server_version: string }>("SHOW server_version");
      console.log(`server ${version.rows[0]?.server_version ?? "?"}`);

      const lister = openLister(withDatabase(adminUrl, scratch));
      try {
        const queries = await buildQueries(client, lister);
        await checkOthers(client, queries);
        // Newest first: ties in created_at, broken by id, must not lose or repeat tasks.
        await checkWalk(client, lister, "createdAt", "desc");
        await checkWalk(client, lister, "createdAt", "desc", true);
        await checkWalk(client, lister, "dueAt", "asc");
        await checkWalk(client, lister, "dueAt", "desc");
        await checkWalk(client, lister, "dueAt", "asc", true);
        await checkWalk(client, lister, "priority", "desc");
        await checkWalk(client, lister, "priority", "asc");
        await checkWalk(client, lister, "priority", "desc", true);
        await checkDueBounds(client, lister, await countOf(client, "true"));

        const selected = only ? queries.filter((query) => only.test(query.id)) : queries;
        printSummary(await measureAll(client, selected));
      } finally {
        await lister.close();
      }
    });
  } finally {
    if (keep) {
      console.log(`\nkept ${scratch}: EXPLAIN_REUSE=${scratch} measures it again; DROP DATABASE ${scratch} when done`);
    } else {
      await dropScratch();
      console.log(`\ndropped ${scratch}`);
    }
  }
}

await main();
