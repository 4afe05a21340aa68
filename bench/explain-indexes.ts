/**
 * npx tsx bench/explain-indexes.ts
 *
 * Justifies the indexes on `tasks`, `labels` and `task_labels` with EXPLAIN
 * (ANALYZE, BUFFERS). Creates a scratch database next to EXPLAIN_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres), applies the committed
 * migrations from prisma/migrations in order, seeds 100 users x
 * EXPLAIN_TASKS_PER_USER tasks (with due dates, priorities and labels) with
 * set-based SQL, runs the queries the API will run with and without each index
 * (DROP/CREATE INDEX inside a transaction that is rolled back), prints a plan
 * summary per run, and drops the scratch database at the end.
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
import type pg from "pg";
import { addDays, dayOf, startOfDay } from "../src/calendar.js";
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
const dropIdUserKey: Variant = { name: "-id_user key", ddl: dropIdUser };

type Param = string | number | boolean;

interface Query {
  id: string;
  label: string;
  sql: string;
  params: Param[];
  variants: Variant[];
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
 * The due-date conditions as src/db/tasks.ts (dueConditions) has Prisma write
 * them: all-day tasks compared by day (midnight UTC), timed ones by instant,
 * each flag a parameter of its own.
 */
const dueEither = (p: Bind, allDay: string, timed: string) =>
  `((due_all_day = ${p(true)} AND ${allDay}) OR (due_all_day = ${p(false)} AND ${timed}))`;

function dueOverdue(p: Bind, zone: string): string {
  return `is_completed = ${p(false)} AND ${dueEither(p, `due_at < ${p(iso(dayOf(now, zone)))}`, `due_at < ${p(iso(now))}`)}`;
}

function dueOn(p: Bind, day: Date, zone: string): string {
  const [start, end] = [startOfDay(day, zone), startOfDay(addDays(day, 1), zone)];
  return dueEither(p, `due_at = ${p(iso(day))}`, `due_at >= ${p(iso(start))} AND due_at < ${p(iso(end))}`);
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
 * Prisma's spelling of `labels: { some: { label: { nameKey } } }`: a
 * correlated EXISTS over task_labels LEFT JOIN labels on the composite key
 * (`=` for one allOf name, IN for anyOf). `n` numbers the aliases.
 */
function carrying(p: Bind, keys: readonly string[], n: number, anyOf: boolean): string {
  const [t, j] = [`t${2 * n}`, `j${2 * n + 1}`];
  const match = anyOf ? `IN (${keys.map((key) => p(key)).join(",")})` : `= ${p(keys[0] ?? "")}`;
  return `EXISTS(SELECT ${t}.task_id, ${t}.user_id FROM task_labels AS ${t}
          LEFT JOIN labels AS ${j} ON (${j}.id, ${j}.user_id) = (${t}.label_id, ${t}.user_id)
          WHERE (${j}.name_key ${match} AND (${j}.id IS NOT NULL) AND (tasks.id, tasks.user_id) = (${t}.task_id, ${t}.user_id)
                 AND ${t}.task_id IS NOT NULL AND ${t}.user_id IS NOT NULL))`;
}

/**
 * Prisma's spelling of `labels: { some: { labelId: { in } } }`, for label ids
 * looked up first (not what listTasks does today): no join to labels.
 */
function carryingIds(p: Bind, ids: readonly string[], n: number): string {
  const t = `t${2 * n}`;
  return `EXISTS(SELECT ${t}.task_id, ${t}.user_id FROM task_labels AS ${t}
          WHERE (${t}.label_id IN (${ids.map((id) => p(id)).join(",")}) AND (tasks.id, tasks.user_id) = (${t}.task_id, ${t}.user_id)
                 AND ${t}.task_id IS NOT NULL AND ${t}.user_id IS NOT NULL))`;
}

/** The user's label ids for these name keys. */
async function labelIds(client: pg.Client, keys: string[]): Promise<string[]> {
  const { rows } = await client.query<{ id: string }>(
    "SELECT id::text AS id FROM labels WHERE user_id = $1 AND name_key = ANY($2::text[]) ORDER BY name_key",
    [user, keys],
  );
  return rows.map((r) => r.id);
}

async function buildQueries(client: pg.Client): Promise<Query[]> {
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

  const rowCompare = (c: Cursor, id: string, label: string, variants: Variant[]): Query => ({
    id,
    label: `keyset row comparison, ${label}`,
    sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid) ${newest} LIMIT 20`,
    params: [user, c.created_at, c.id],
    variants,
  });
  const orExpanded = (c: Cursor, id: string, label: string): Query => ({
    id,
    label: `keyset OR-expanded, ${label}`,
    sql: `SELECT ${columns} FROM tasks WHERE user_id = $1
          AND (created_at < $2::timestamptz OR (created_at = $2::timestamptz AND id < $3::uuid)) ${newest} LIMIT 20`,
    params: [user, c.created_at, c.id],
    variants: [asIs],
  });
  const orBounded = (c: Cursor, id: string, label: string): Query => ({
    id,
    label: `keyset OR-expanded + created_at <= bound, ${label}`,
    sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 AND created_at <= $2::timestamptz
          AND (created_at < $2::timestamptz OR (created_at = $2::timestamptz AND id < $3::uuid)) ${newest} LIMIT 20`,
    params: [user, c.created_at, c.id],
    variants: [asIs],
  });
  // The SQL Prisma 7.10 sends for `findMany({ where: { userId }, cursor: { id }, skip: 1, take: 20,
  // orderBy: [{ createdAt: "desc" }, { id: "desc" }] })` (seen in its query log, built by
  // cursor_condition.rs in prisma-engines): no row comparison, but one subselect per order field,
  // an OR of ANDs with <= on the last field, and OFFSET 1 for `skip: 1`.
  const prismaShape = (c: Cursor, id: string, label: string): Query => {
    const sub = (column: string) => `(SELECT t0.${column} FROM tasks AS t0 WHERE (t0.id) = ($2::uuid))`;
    return {
      id,
      label: `Prisma cursor shape (subselects, OR, OFFSET 1), ${label}`,
      sql: `SELECT ${columns} FROM tasks WHERE (user_id = $1 AND ((created_at = ${sub("created_at")} AND id <= ${sub("id")})
            OR (created_at < ${sub("created_at")}))) ${newest} LIMIT 20 OFFSET 1`,
      params: [user, c.id],
      variants: [asIs, dropCreated],
    };
  };

  const trigram: Variant = {
    name: "+trgm gin",
    ddl: [
      "CREATE EXTENSION IF NOT EXISTS pg_trgm",
      "CREATE INDEX tasks_title_trgm_idx ON tasks USING gin (title gin_trgm_ops)",
      "CREATE INDEX tasks_description_trgm_idx ON tasks USING gin (description gin_trgm_ops)",
    ],
  };
  const search = (word: string, id: string, label: string): Query => ({
    id,
    label: `search '${word}' (${label})`,
    sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 AND (title ILIKE $2 OR description ILIKE $2) ${newest} LIMIT 20`,
    params: [user, `%${word}%`],
    variants: [asIs, dropBoth, trigram],
  });
  const dropPkey = "ALTER TABLE tasks DROP CONSTRAINT tasks_pkey";

  return [
    ...[20, 50, 100].map(
      (n): Query => ({
        id: `Q1/${n}`,
        label: `newest first, page of ${n}`,
        sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 ${newest} LIMIT ${n}`,
        params: [user],
        variants: userIndexVariants,
      }),
    ),
    rowCompare(page2, "Q2", "cursor = row 20", userIndexVariants),
    rowCompare(deep, "Q2/deep", deepLabel, [asIs, dropCreated]),
    orExpanded(page2, "Q2/or", "cursor = row 20"),
    orExpanded(deep, "Q2/or-deep", deepLabel),
    orBounded(deep, "Q2/or+bound-deep", deepLabel),
    prismaShape(page2, "Q2/prisma", "cursor = row 20"),
    prismaShape(deep, "Q2/prisma-deep", deepLabel),
    ...[false, true].map(
      (done): Query => ({
        id: `Q3/${done ? "done" : "open"}`,
        label: `is_completed = ${done}, newest first, 20`,
        sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 AND is_completed = $2 ${newest} LIMIT 20`,
        params: [user, done],
        variants: [...userIndexVariants, includeStatus],
      }),
    ),
    {
      id: "Q3/done-deep",
      label: `is_completed = true, after ${deepLabel}`,
      sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 AND is_completed = true
            AND (created_at, id) < ($2::timestamptz, $3::uuid) ${newest} LIMIT 20`,
      params: [user, deep.created_at, deep.id],
      variants: [asIs, dropStatus],
    },
    {
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
    {
      id: "Q5",
      label: "count all of a user",
      sql: "SELECT count(*) FROM tasks WHERE user_id = $1",
      params: [user],
      variants: userIndexVariants,
    },
    ...[false, true].map(
      (done): Query => ({
        id: `Q5/${done ? "done" : "open"}`,
        label: `count is_completed = ${done}`,
        sql: "SELECT count(*) FROM tasks WHERE user_id = $1 AND is_completed = $2",
        params: [user, done],
        variants: [...userIndexVariants, includeStatus],
      }),
    ),
    {
      // What Prisma 7.10 sends for `task.count({ where: { userId, isCompleted: true } })`.
      id: "Q5/prisma-done",
      label: "count is_completed = true, Prisma's shape (subselect with OFFSET)",
      sql: `SELECT COUNT(*) AS "_count$_all" FROM (SELECT id FROM tasks WHERE user_id = $1 AND is_completed = $2 OFFSET 0) AS sub`,
      params: [user, true],
      variants: [asIs, dropStatus],
    },
    {
      id: "Q6/updated",
      label: "updated_at DESC, id DESC, 20",
      sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 ORDER BY updated_at DESC, id DESC LIMIT 20`,
      params: [user],
      variants: [
        asIs,
        dropBoth,
        {
          name: "+updated idx",
          ddl: ["CREATE INDEX tasks_user_updated_idx ON tasks (user_id, updated_at DESC, id DESC)"],
        },
      ],
    },
    {
      id: "Q6/title",
      label: "title ASC, id ASC, 20",
      sql: `SELECT ${columns} FROM tasks WHERE user_id = $1 ORDER BY title ASC, id ASC LIMIT 20`,
      params: [user],
      variants: [
        asIs,
        dropBoth,
        { name: "+title idx", ddl: ["CREATE INDEX tasks_user_title_idx ON tasks (user_id, title, id)"] },
      ],
    },
    search("invoice", "Q7/common", "in ~5% of tasks"),
    search("zeppelin", "Q7/rare", "1 task per user"),
    search("xylophone", "Q7/absent", "no match"),
    ...(await planningQueries(client, perUser)),
  ];
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
 * The list with the filters and orders of due dates, priorities and labels,
 * as listTasks (src/db/tasks.ts) has Prisma send them: LIMIT 21 for a page of
 * 20 (one more, to know whether there is a next page), ordering by due date
 * in two segments (with a due date, then without), keysets with a redundant
 * bound on the sort column.
 */
async function planningQueries(client: pg.Client, perUser: number): Promise<Query[]> {
  const { today, weekStart, weekEnd, rarest } = await planningOf(client);
  const dated = await countOf(client, "due_at IS NOT NULL");
  const undated = perUser - dated;
  const dueAscDeep = await keyAt(client, "due_at", "AND due_at IS NOT NULL ORDER BY due_at, id", dated >> 1);
  const dueDescDeep = await keyAt(client, "due_at", "AND due_at IS NOT NULL ORDER BY due_at DESC, id DESC", dated >> 1);
  const nullAscDeep = await keyAt(client, "due_at", "AND due_at IS NULL ORDER BY id", undated >> 1);
  const nullDescDeep = await keyAt(client, "due_at", "AND due_at IS NULL ORDER BY id DESC", undated >> 1);
  const byPriority = "ORDER BY priority DESC, id DESC";
  const prioMid = await keyAt(client, "priority", byPriority, Math.floor(perUser / 2) - 1);
  const prioDeep = await keyAt(client, "priority", byPriority, Math.floor(perUser * 0.9) - 1);
  const page = await client.query<{ id: string }>(
    `SELECT id::text AS id FROM tasks WHERE user_id = $1 ${newest} LIMIT 21`,
    [user],
  );
  const select = (p: Bind) => `SELECT ${columns} FROM tasks WHERE user_id = ${p(user)}`;
  const dueAsc = "ORDER BY due_at ASC, id ASC LIMIT 21";
  const dueDesc = "ORDER BY due_at DESC, id DESC LIMIT 21";
  const page21 = `${newest} LIMIT 21`;
  const day = today.toISOString().slice(0, 10);
  const week = `${weekStart.toISOString().slice(0, 16)}Z..${weekEnd.toISOString().slice(0, 16)}Z`;
  // Due today sorted by due date: the first segment holds all of them; if that is less than a page,
  // listTasks asks the second segment (no due date) for the rest with the same filter.
  const todayCount = await countOf(
    client,
    `(due_all_day AND due_at = '${iso(today)}') OR (NOT due_all_day AND
    due_at >= '${iso(startOfDay(today, dayZone))}' AND due_at < '${iso(startOfDay(addDays(today, 1), dayZone))}')`,
  );
  const rest = Math.max(1, 21 - todayCount);
  const priorityKeyset = (p: Bind, key: Key) => {
    const value = Number(key.value);
    return `priority <= ${p(value)} AND (priority < ${p(value)} OR id < ${p(key.id)})`;
  };
  const [homeErrands, home] = [await labelIds(client, ["home", "errands"]), await labelIds(client, ["home"])];
  // The due-this-week conditions, and the same with the redundant bound that encloses both of their
  // ranges (all-day and timed), which listTasks could add: one range of the due-date index.
  const thisWeek = (p: Bind) => `${dueAfter(p, weekStart, dayZone)} AND ${dueBefore(p, weekEnd, dayZone)}`;
  const lower = Math.min(dayOf(weekStart, dayZone).getTime(), weekStart.getTime());
  const upper = Math.max(dayOf(weekEnd, dayZone).getTime(), weekEnd.getTime());
  const weekBound = (p: Bind) => `due_at >= ${p(iso(new Date(lower)))} AND due_at <= ${p(iso(new Date(upper)))}`;
  const count = (p: Bind, where: string) =>
    `SELECT COUNT(*) AS "_count$_all" FROM (SELECT id FROM tasks WHERE user_id = ${p(user)} AND ${where} OFFSET 0) AS sub`;

  return [
    // Due dates.
    define("D1/overdue", `overdue (${readmeZone}), newest first`, [asIs, dropDue, dropStatus], (p) => {
      return `${select(p)} AND ${dueOverdue(p, readmeZone)} ${page21}`;
    }),
    define("D1/overdue-by-due", `overdue (${readmeZone}), by due date`, [asIs, dropDue, statusDue], (p) => {
      return `${select(p)} AND ${dueOverdue(p, readmeZone)} AND due_at IS NOT NULL ${dueAsc}`;
    }),
    define("D2/today", `due on ${day} in ${dayZone} (${todayCount} tasks), newest first`, [asIs, dropDue], (p) => {
      return `${select(p)} AND ${dueOn(p, today, dayZone)} ${page21}`;
    }),
    define("D2/today-by-due", `due on ${day} in ${dayZone}, by due date`, [asIs, dropDue], (p) => {
      return `${select(p)} AND ${dueOn(p, today, dayZone)} AND due_at IS NOT NULL ${dueAsc}`;
    }),
    define(
      "D2/today-nulls",
      `due on ${day}, by due date: the no-due-date segment for the rest of the page (matches nothing)`,
      [asIs],
      (p) => `${select(p)} AND ${dueOn(p, today, dayZone)} AND due_at IS NULL ORDER BY id ASC LIMIT ${rest}`,
    ),
    define("D3/week", `due this week ${week} (${dayZone}), newest first`, [asIs, dropDue], (p) => {
      return `${select(p)} AND ${thisWeek(p)} ${page21}`;
    }),
    define("D3/week+bound", "the same with a bound enclosing both ranges (not what listTasks sends)", [asIs], (p) => {
      return `${select(p)} AND ${thisWeek(p)} AND ${weekBound(p)} ${page21}`;
    }),
    define("D3/week-by-due", "due this week, by due date", [asIs, dropDue], (p) => {
      return `${select(p)} AND ${thisWeek(p)} AND due_at IS NOT NULL ${dueAsc}`;
    }),
    define("D3/week-by-due+bound", "the same with the enclosing bound (not what listTasks sends)", [asIs], (p) => {
      return `${select(p)} AND ${thisWeek(p)} AND ${weekBound(p)} AND due_at IS NOT NULL ${dueAsc}`;
    }),
    define("D4/no-due", "no due date, newest first", [asIs, dropDue], (p) => {
      return `${select(p)} AND due_at IS NULL ${page21}`;
    }),
    define("D5/open-by-due", "status OPEN, by due date (the to-do view)", [asIs, dropDue, statusDue], (p) => {
      return `${select(p)} AND is_completed = ${p(false)} AND due_at IS NOT NULL ${dueAsc}`;
    }),
    // Priorities.
    define("P1/high", "priority high or urgent (IN (3, 4)), newest first", [asIs, dropPriority], (p) => {
      return `${select(p)} AND priority IN (${p(3)},${p(4)}) ${page21}`;
    }),
    // Ordering by due date: two segments.
    define("S1/due-asc", "by due date ascending, page 1", [asIs, dropDue], (p) => {
      return `${select(p)} AND due_at IS NOT NULL ${dueAsc}`;
    }),
    define("S1/due-desc", "by due date descending, page 1", [asIs, dropDue], (p) => {
      return `${select(p)} AND due_at IS NOT NULL ${dueDesc}`;
    }),
    define("S1/due-asc-deep", `by due date ascending, cursor half way (row ${dated >> 1})`, [asIs, dropDue], (p) => {
      const [v, id] = [dueAscDeep.value ?? "", dueAscDeep.id];
      return `${select(p)} AND due_at IS NOT NULL AND due_at >= ${p(v)} AND (due_at > ${p(v)} OR id > ${p(id)}) ${dueAsc}`;
    }),
    define("S1/due-desc-deep", "by due date descending, cursor half way", [asIs], (p) => {
      const [v, id] = [dueDescDeep.value ?? "", dueDescDeep.id];
      return `${select(p)} AND due_at IS NOT NULL AND due_at <= ${p(v)} AND (due_at < ${p(v)} OR id < ${p(id)}) ${dueDesc}`;
    }),
    define("S1/nulls", "by due date: first page of the no-due-date segment", [asIs, dropDue, dropIdUserKey], (p) => {
      return `${select(p)} AND due_at IS NULL ORDER BY id ASC LIMIT 21`;
    }),
    define("S1/nulls-ordered", "the same ordered by due_at, id (not what listTasks sends)", [asIs], (p) => {
      return `${select(p)} AND due_at IS NULL ORDER BY due_at ASC, id ASC LIMIT 21`;
    }),
    define(
      "S1/nulls-deep",
      "by due date ascending, cursor half way into no due date",
      [asIs, dropDue, dropIdUserKey],
      (p) => `${select(p)} AND due_at IS NULL AND id > ${p(nullAscDeep.id)} ORDER BY id ASC LIMIT 21`,
    ),
    define("S1/nulls-deep-ordered", "the same ordered by due_at, id (not what listTasks sends)", [asIs], (p) => {
      return `${select(p)} AND due_at IS NULL AND id > ${p(nullAscDeep.id)} ORDER BY due_at ASC, id ASC LIMIT 21`;
    }),
    define("S1/nulls-desc-deep", "by due date descending, cursor half way into no due date", [asIs], (p) => {
      return `${select(p)} AND due_at IS NULL AND id < ${p(nullDescDeep.id)} ORDER BY id DESC LIMIT 21`;
    }),
    // Ordering by priority.
    define("S2/prio", "by priority descending, page 1", [asIs, dropPriority], (p) => {
      return `${select(p)} ${byPriority} LIMIT 21`;
    }),
    define(
      "S2/prio-mid",
      `by priority, cursor = row ${Math.floor(perUser / 2)} (priority ${prioMid.value})`,
      [asIs],
      (p) => {
        return `${select(p)} AND ${priorityKeyset(p, prioMid)} ${byPriority} LIMIT 21`;
      },
    ),
    define(
      "S2/prio-deep",
      `by priority, cursor = row ${Math.floor(perUser * 0.9)} (priority ${prioDeep.value})`,
      [asIs, dropPriority],
      (p) => `${select(p)} AND ${priorityKeyset(p, prioDeep)} ${byPriority} LIMIT 21`,
    ),
    define("S2/prio-deep-row", "the same cursor as a row comparison (not what Prisma sends)", [asIs], (p) => {
      return `${select(p)} AND (priority, id) < (${p(Number(prioDeep.value))}::smallint, ${p(prioDeep.id)}::uuid) ${byPriority} LIMIT 21`;
    }),
    define(
      "S2/prio-deep-split",
      "the same cursor as a segment of its own: priority = cursor's AND id < cursor's",
      [asIs],
      (p) =>
        `${select(p)} AND priority = ${p(Number(prioDeep.value))} AND id < ${p(prioDeep.id)} ORDER BY id DESC LIMIT 21`,
    ),
    // Labels.
    define(
      "L1/any",
      "labels anyOf home, errands; newest first",
      [asIs, dropTaskLabelsPkey, dropLabelIdx, labelIdxWithUser],
      (p) => `${select(p)} AND ${carrying(p, ["home", "errands"], 0, true)} ${page21}`,
    ),
    define(
      "L1/any-ids",
      "the same by label ids looked up first (not what listTasks sends)",
      [asIs, labelStats],
      (p) => {
        return `${select(p)} AND ${carryingIds(p, homeErrands, 0)} ${page21}`;
      },
    ),
    define(
      "L1/any-rare",
      `labels anyOf ${rarest} (the user's least used); newest first`,
      [asIs, dropLabelIdx, labelIdxWithUser],
      (p) => `${select(p)} AND ${carrying(p, [rarest], 0, true)} ${page21}`,
    ),
    define("L2/all", "labels allOf home, work; newest first", [asIs, dropLabelIdx, labelIdxWithUser], (p) => {
      return `${select(p)} AND ${carrying(p, ["home"], 0, false)} AND ${carrying(p, ["work"], 1, false)} ${page21}`;
    }),
    define(
      "L3/readme",
      `overdue (${readmeZone}), label home, most urgent first (the README's example)`,
      [asIs, dropPriority, dropDue, labelIdxWithUser],
      (p) =>
        `${select(p)} AND ${dueOverdue(p, readmeZone)} AND ${carrying(p, ["home"], 0, true)} ${byPriority} LIMIT 21`,
    ),
    define(
      "L3/readme-ids",
      "the same by label id looked up first (not what listTasks sends)",
      [asIs, labelStats],
      (p) => {
        return `${select(p)} AND ${dueOverdue(p, readmeZone)} AND ${carryingIds(p, home, 0)} ${byPriority} LIMIT 21`;
      },
    ),
    define("L4/labels", "the label list with task counts (Prisma's _count shape)", [asIs, labelIdxWithUser], (p) => {
      return `SELECT labels.id, labels.user_id, labels.name, labels.name_key, labels.color, labels.created_at,
              labels.updated_at, COALESCE(aggr._aggr_count_tasks, 0) AS _aggr_count_tasks
              FROM labels LEFT JOIN (SELECT task_labels.label_id, task_labels.user_id, COUNT(*) AS _aggr_count_tasks
                                     FROM task_labels WHERE 1=1 GROUP BY task_labels.label_id, task_labels.user_id) AS aggr
                ON (labels.id = aggr.label_id AND labels.user_id = aggr.user_id)
              WHERE labels.user_id = ${p(user)} ORDER BY labels.name_key ASC, labels.id ASC OFFSET ${p(0)}`;
    }),
    define(
      "L4/labels-subselect",
      "the label list, a count subselect per label (not what Prisma sends)",
      [asIs],
      (p) => {
        return `SELECT labels.*, (SELECT count(*) FROM task_labels WHERE task_labels.label_id = labels.id) AS task_count
              FROM labels WHERE labels.user_id = ${p(user)} ORDER BY labels.name_key ASC, labels.id ASC`;
      },
    ),
    define("L5/page-labels", "the labels of a page of 21 tasks (Prisma's include)", [asIs, dropTaskLabelsPkey], (p) => {
      return `SELECT task_labels.task_id, task_labels.label_id, task_labels.user_id FROM task_labels
              LEFT JOIN labels AS orderby_1 ON (orderby_1.id, orderby_1.user_id) = (task_labels.label_id, task_labels.user_id)
              WHERE (task_labels.user_id IN (${p(user)}) AND task_labels.task_id IN (${page.rows.map((r) => p(r.id)).join(",")}))
              ORDER BY orderby_1.name_key ASC, task_labels.label_id ASC OFFSET ${p(0)}`;
    }),
    // Counts (totalCount, when a client asks for it).
    define("C1/overdue", "count overdue (Prisma's count shape)", [asIs, dropDue], (p) => {
      return count(p, dueOverdue(p, readmeZone));
    }),
    define("C1/home", "count label home (Prisma's count shape)", [asIs, dropLabelIdx, labelIdxWithUser], (p) => {
      return count(p, carrying(p, ["home"], 0, true));
    }),
  ];
}

/** Paging through a user with each keyset spelling must give the same rows as one ORDER BY. */
async function checkKeyset(client: pg.Client, queries: Query[]): Promise<void> {
  const byId = new Map(queries.map((q) => [q.id, q]));
  const groups = [
    ["Q2", "Q2/or", "Q2/prisma"],
    ["Q2/deep", "Q2/or-deep", "Q2/or+bound-deep", "Q2/prisma-deep"],
    ["S2/prio-deep", "S2/prio-deep-row", "S2/prio-deep-split"],
    ["S1/nulls", "S1/nulls-ordered"],
    ["S1/nulls-deep", "S1/nulls-deep-ordered"],
    ["D3/week", "D3/week+bound"],
    ["D3/week-by-due", "D3/week-by-due+bound"],
    ["L1/any", "L1/any-ids"],
    ["L3/readme", "L3/readme-ids"],
  ];
  for (const group of groups) {
    const results: string[] = [];
    for (const id of group) {
      const query = byId.get(id);
      if (!query) throw new Error(`No query ${id}`);
      results.push(await ids(client, query));
    }
    const agree = results.every((r) => r === results[0]);
    console.log(`check: ${group.join(", ")} return ${agree ? "the same rows" : "DIFFERENT rows"}`);
  }
  // Walk one user's whole list page by page with the row comparison: ties must not lose or repeat rows.
  const seen: string[] = [];
  let cursor: Cursor | undefined;
  for (;;) {
    const { rows }: { rows: Cursor[] } = cursor
      ? await client.query<Cursor>(
          `SELECT created_at::text AS created_at, id::text AS id FROM tasks
           WHERE user_id = $1 AND (created_at, id) < ($2::timestamptz, $3::uuid) ${newest} LIMIT 20`,
          [user, cursor.created_at, cursor.id],
        )
      : await client.query<Cursor>(
          `SELECT created_at::text AS created_at, id::text AS id FROM tasks WHERE user_id = $1 ${newest} LIMIT 20`,
          [user],
        );
    if (rows.length === 0) break;
    seen.push(...rows.map((r) => r.id));
    cursor = rows[rows.length - 1];
  }
  const all = await client.query<{ id: string }>(`SELECT id::text AS id FROM tasks WHERE user_id = $1 ${newest}`, [
    user,
  ]);
  const same = seen.join(",") === all.rows.map((r) => r.id).join(",");
  console.log(
    `check: keyset walk over ${user} visits ${seen.length} rows, ${same ? "identical to" : "DIFFERENT from"} one ORDER BY`,
  );
}

/**
 * Walks the user's list the way listTasks does (pages of 100): by due date
 * in its two segments, or by priority with its OR keyset; it must visit the
 * same rows as one ORDER BY.
 */
async function checkWalk(client: pg.Client, order: "due" | "priority", direction: "ASC" | "DESC"): Promise<void> {
  const size = 100;
  const [strict, loose] = direction === "DESC" ? ["<", "<="] : [">", ">="];
  const column = order === "due" ? "due_at" : "priority";
  const select = `SELECT ${column}::text AS value, id::text AS id FROM tasks WHERE user_id = $1`;
  const seen: string[] = [];
  let cursor: Key | undefined;
  for (;;) {
    const rows: Key[] = [];
    if (cursor === undefined || cursor.value !== null) {
      const keyset = cursor ? ` AND ${column} ${loose} $2 AND (${column} ${strict} $2 OR id ${strict} $3)` : "";
      const segment = order === "due" ? " AND due_at IS NOT NULL" : "";
      const result = await client.query<Key>(
        `${select}${segment}${keyset} ORDER BY ${column} ${direction}, id ${direction} LIMIT ${size + 1}`,
        cursor ? [user, cursor.value, cursor.id] : [user],
      );
      rows.push(...result.rows);
    }
    if (order === "due" && rows.length < size + 1) {
      const keyset = cursor?.value === null ? ` AND id ${strict} $2` : "";
      const result = await client.query<Key>(
        `${select} AND due_at IS NULL${keyset} ORDER BY id ${direction} LIMIT ${size + 1 - rows.length}`,
        cursor?.value === null ? [user, cursor.id] : [user],
      );
      rows.push(...result.rows);
    }
    const page = rows.slice(0, size);
    seen.push(...page.map((r) => r.id));
    if (rows.length <= size) break;
    cursor = page[page.length - 1];
  }
  const all = await client.query<{ id: string }>(
    `SELECT id::text AS id FROM tasks WHERE user_id = $1
     ORDER BY ${order === "due" ? "due_at IS NULL, " : ""}${column} ${direction}, id ${direction}`,
    [user],
  );
  const same = seen.join(",") === all.rows.map((r) => r.id).join(",");
  console.log(
    `check: ${order} ${direction} walk over ${user} (as listTasks pages) visits ${seen.length} rows, ` +
      `${same ? "identical to" : "DIFFERENT from"} one ORDER BY`,
  );
}

/** The bounds computed in JS (src/calendar.ts) select what PostgreSQL's own time zone arithmetic does. */
async function checkDueBounds(client: pg.Client, queries: Query[]): Promise<void> {
  const { today, weekStart, weekEnd } = await planningOf(client);
  const byId = new Map(queries.map((q) => [q.id, q]));
  const date = iso(today).slice(0, 10);
  // An all-day task is due throughout its day in the zone: [start of day, start of next day).
  const allDayFrom = (zone: string) => `(((due_at AT TIME ZONE 'UTC')::date)::timestamp AT TIME ZONE '${zone}')`;
  const allDayTo = (zone: string) => `(((due_at AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE '${zone}')`;
  const cases: [string, string][] = [
    [
      "D2/today",
      `(due_all_day AND (due_at AT TIME ZONE 'UTC')::date = '${date}')
       OR (NOT due_all_day AND (due_at AT TIME ZONE '${dayZone}')::date = '${date}')`,
    ],
    [
      "D1/overdue",
      `NOT is_completed AND ((due_all_day AND ${allDayTo(readmeZone)} <= '${iso(now)}')
                             OR (NOT due_all_day AND due_at < '${iso(now)}'))`,
    ],
    [
      "D3/week",
      `(due_all_day AND ${allDayTo(dayZone)} > '${iso(weekStart)}' AND ${allDayFrom(dayZone)} < '${iso(weekEnd)}')
       OR (NOT due_all_day AND due_at >= '${iso(weekStart)}' AND due_at < '${iso(weekEnd)}')`,
    ],
  ];
  for (const [id, where] of cases) {
    const query = byId.get(id);
    if (!query) throw new Error(`No query ${id}`);
    // The query without its LIMIT: every match.
    const unlimited = { ...query, sql: query.sql.replace(/LIMIT \d+$/, "") };
    const fromQuery = (await ids(client, unlimited)).split(",").filter(Boolean).sort();
    const expected = await client.query<{ id: string }>(
      `SELECT id::text AS id FROM tasks WHERE user_id = $1 AND (${where}) ORDER BY id`,
      [user],
    );
    const same = fromQuery.join(",") === expected.rows.map((r) => r.id).join(",");
    console.log(
      `check: ${id} selects ${fromQuery.length} tasks, ${same ? "the same as" : "NOT the same as"} PostgreSQL's AT TIME ZONE`,
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

      const queries = await buildQueries(client);
      await checkKeyset(client, queries);
      await checkWalk(client, "due", "ASC");
      await checkWalk(client, "due", "DESC");
      await checkWalk(client, "priority", "DESC");
      await checkDueBounds(client, queries);

      const selected = only ? queries.filter((query) => only.test(query.id)) : queries;
      printSummary(await measureAll(client, selected));
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
