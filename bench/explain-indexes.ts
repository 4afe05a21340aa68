/**
 * npx tsx bench/explain-indexes.ts
 *
 * Justifies the indexes on `tasks` with EXPLAIN (ANALYZE, BUFFERS). Creates a
 * scratch database next to EXPLAIN_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), applies the committed
 * migrations from prisma/migrations in order, seeds 100 users x 1000 tasks
 * with set-based SQL, runs the queries the API will run with and without each
 * index (DROP/CREATE INDEX inside a transaction that is rolled back), prints a
 * plan summary per run, and drops the scratch database at the end.
 *
 * EXPLAIN_RUNS (default 7): measured runs per query and variant; the median
 * execution time is reported, the buffers are those of the last run.
 * EXPLAIN_VERBOSE=1 also prints the text plan of every run.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { admin, withDatabase } from "../test/helpers/postgres.js";

const adminUrl = process.env.EXPLAIN_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const runs = Number.parseInt(process.env.EXPLAIN_RUNS ?? "7", 10);
const verbose = process.env.EXPLAIN_VERBOSE === "1";
const migrationsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../prisma/migrations");
const scratch = `tasks_explain_${process.pid}`;

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

interface Query {
  id: string;
  label: string;
  sql: string;
  params: (string | boolean)[];
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

const columns = "id, user_id, title, description, is_completed, completed_at, created_at, updated_at, version";
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

async function seed(client: pg.Client): Promise<void> {
  await client.query(`
    INSERT INTO users (id, email, name, created_at, updated_at)
    SELECT format('user-%s', lpad(u::text, 3, '0')), format('user%s@example.com', u), format('User %s', u),
           timestamptz '2025-01-01 00:00:00+00', timestamptz '2025-01-01 00:00:00+00'
    FROM generate_series(1, 100) AS u`);

  // 1000 tasks per user over one year (about one every 8h45m), each shifted by
  // up to 8h of deterministic jitter. Task n shares its timestamp slot k with
  // its neighbour when n % 10 = 0 (a pair) and for n % 50 in (47, 48, 49) (a
  // triple): exact ties in created_at within a user, broken only by id.
  // Rows are inserted in created_at order across all users, as real traffic
  // would write them, so one user's rows are spread over the whole heap.
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
      FROM generate_series(1, 100) AS u, generate_series(1, 1000) AS n
    ),
    drafted AS (
      SELECT s.u, s.n,
             format('user-%s', lpad(s.u::text, 3, '0')) AS user_id,
             timestamptz '2025-01-01 00:00:00+00'
               + s.k * interval '8 hours 45 minutes'
               + (abs(hashint8(s.u::bigint * 100000 + s.k)) % 28800000) * interval '1 millisecond' AS created_at,
             random() < 1.0 / 3 AS is_completed,
             random() AS r1, random() AS r2, random() AS r3
      FROM slots AS s
    )
    INSERT INTO tasks (user_id, title, description, is_completed, completed_at, created_at, updated_at, version)
    SELECT d.user_id,
           -- One task per user carries the rare word 'zeppelin'.
           initcap(w.verbs[1 + (d.n * 7 + d.u) % 20]) || ' ' || w.nouns[1 + (d.n * 13 + d.u * 3) % 20]
             || ' ' || w.tails[1 + (d.n * 3 + d.u) % 10]
             || CASE WHEN d.n = 1 + (d.u * 37) % 1000 THEN ' (zeppelin)' ELSE '' END,
           CASE WHEN d.r1 < 0.2 THEN NULL
                ELSE (SELECT string_agg(w.sentences[1 + (d.n * 11 + d.u * 5 + i * 7) % 10], ' ')
                      FROM generate_series(1, 1 + (d.n + d.u) % 8) AS i) END,
           d.is_completed,
           CASE WHEN d.is_completed THEN d.created_at + d.r2 * interval '30 days' END,
           d.created_at,
           CASE WHEN d.is_completed THEN d.created_at + d.r2 * interval '30 days' + interval '1 second'
                WHEN d.r3 < 0.5 THEN d.created_at + d.r3 * interval '20 days'
                ELSE d.created_at END,
           1 + floor(d.r3 * 4)::int
    FROM drafted AS d CROSS JOIN words AS w
    ORDER BY d.created_at`);
  // VACUUM as well: autovacuum would have set the visibility map on a table
  // of this age, which index-only scans (the counts) depend on.
  await client.query("VACUUM ANALYZE users");
  await client.query("VACUUM ANALYZE tasks");
}

async function describeData(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{
    tasks: string;
    completed: string;
    tie_groups: string;
    heap_pages: string;
    correlation: string;
  }>(`
    SELECT (SELECT count(*) FROM tasks)::text AS tasks,
           (SELECT count(*) FROM tasks WHERE is_completed)::text AS completed,
           (SELECT count(*) FROM (SELECT count(*) FROM tasks GROUP BY user_id, created_at HAVING count(*) > 1) t)::text
             AS tie_groups,
           (SELECT relpages FROM pg_class WHERE relname = 'tasks')::text AS heap_pages,
           (SELECT round(correlation::numeric, 3) FROM pg_stats WHERE tablename = 'tasks' AND attname = 'user_id')::text
             AS correlation`);
  const row = rows[0];
  if (row) {
    console.log(
      `data: ${row.tasks} tasks, ${row.completed} completed, ${row.tie_groups} groups of tasks tied on (user_id, created_at), ` +
        `${row.heap_pages} heap pages, user_id/heap correlation ${row.correlation}`,
    );
  }
  const sizes = await client.query<{ name: string; size: string }>(`
    SELECT c.relname AS name, pg_size_pretty(pg_relation_size(c.oid)) AS size
    FROM pg_class c
    WHERE c.relname = 'tasks' OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'tasks'::regclass)
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

async function measure(client: pg.Client, query: Query, variant: Variant): Promise<Measured> {
  await client.query("BEGIN");
  try {
    for (const ddl of variant.ddl) await client.query(ddl);
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
  } finally {
    await client.query("ROLLBACK");
  }
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

async function cursorAt(client: pg.Client, userId: string, offset: number): Promise<Cursor> {
  const { rows } = await client.query<Cursor>(
    `SELECT created_at::text AS created_at, id::text AS id FROM tasks WHERE user_id = $1 ${newest} OFFSET $2 LIMIT 1`,
    [userId, offset],
  );
  const row = rows[0];
  if (!row) throw new Error(`No row at offset ${offset} for ${userId}`);
  return row;
}

async function buildQueries(client: pg.Client): Promise<Query[]> {
  const user = "user-042";
  // The cursor a client holds after page 1 (row 20), and one deep in the list (row 500).
  const page2 = await cursorAt(client, user, 19);
  const deep = await cursorAt(client, user, 499);
  const other = await client.query<{ id: string; mine: string }>(
    `SELECT (SELECT id::text FROM tasks WHERE user_id = 'user-043' ORDER BY created_at LIMIT 1 OFFSET 400) AS id,
            (SELECT id::text FROM tasks WHERE user_id = $1 ORDER BY created_at LIMIT 1 OFFSET 600) AS mine`,
    [user],
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
    rowCompare(deep, "Q2/deep", "cursor = row 500", [asIs, dropCreated]),
    orExpanded(page2, "Q2/or", "cursor = row 20"),
    orExpanded(deep, "Q2/or-deep", "cursor = row 500"),
    orBounded(deep, "Q2/or+bound-deep", "cursor = row 500"),
    prismaShape(page2, "Q2/prisma", "cursor = row 20"),
    prismaShape(deep, "Q2/prisma-deep", "cursor = row 500"),
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
      label: "is_completed = true, after cursor row 500",
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
        { name: "-pkey", ddl: ["ALTER TABLE tasks DROP CONSTRAINT tasks_pkey"] },
        { name: "-pkey -both user idx", ddl: ["ALTER TABLE tasks DROP CONSTRAINT tasks_pkey", ...dropBoth.ddl] },
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
  ];
}

/** Paging through a user with each keyset spelling must give the same rows as one ORDER BY. */
async function checkKeyset(client: pg.Client, queries: Query[]): Promise<void> {
  const byId = new Map(queries.map((q) => [q.id, q]));
  const groups = [
    ["Q2", "Q2/or", "Q2/prisma"],
    ["Q2/deep", "Q2/or-deep", "Q2/or+bound-deep", "Q2/prisma-deep"],
  ];
  for (const group of groups) {
    const results: string[] = [];
    for (const id of group) {
      const query = byId.get(id);
      if (!query) throw new Error(`No query ${id}`);
      results.push(await ids(client, query));
    }
    const agree = results.every((r) => r === results[0]);
    console.log(`check: ${group.join(", ")} return ${agree ? "the same 20 rows" : "DIFFERENT rows"}`);
  }
  // Walk one user's whole list page by page with the row comparison: ties must not lose or repeat rows.
  const user = "user-042";
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

// ---------------------------------------------------------------------------
// Output.

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + " ".repeat(width - text.length);
}

function printMeasured(m: Measured): void {
  console.log(
    `  ${pad(m.variant.name, 20)} ${pad(`${m.medianMs.toFixed(3)} ms`, 11)} hit ${pad(String(m.hit), 5)} read ${pad(
      String(m.read),
      4,
    )} rows ${pad(String(m.rows), 5)} plan ${m.planningMs.toFixed(3)} ms | ${m.nodes}`,
  );
}

function printSummary(all: Measured[]): void {
  console.log(
    `\nSummary (median of ${runs} runs; buffers: shared hit/read of the last run; filtered: rows read and discarded)`,
  );
  const header = [
    pad("query", 17),
    pad("variant", 20),
    pad("plan", 28),
    pad("indexes", 46),
    pad("ms", 7),
    pad("hit", 5),
  ];
  console.log(`${header.join(" ")} ${pad("read", 4)} rows filtered`);
  for (const m of all) {
    const cells = [
      pad(m.query.id, 17),
      pad(m.variant.name, 20),
      pad(m.shape, 28),
      pad(m.indexes.join("+") || "-", 46),
      pad(m.medianMs.toFixed(3), 7),
      pad(String(m.hit), 5),
      pad(String(m.read), 4),
      pad(String(m.rows), 4),
      String(m.removed),
    ];
    console.log(cells.join(" "));
  }
}

// ---------------------------------------------------------------------------

async function dropScratch(): Promise<void> {
  await admin(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${scratch} WITH (FORCE)`));
}

async function main(): Promise<void> {
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${scratch}`));
  console.log(`scratch database ${scratch}`);
  // Interrupted (Ctrl-C, or the reader of a pipe went away): still drop the scratch database.
  const bail = () => {
    dropScratch().finally(() => process.exit(130));
  };
  process.once("SIGINT", bail);
  process.once("SIGTERM", bail);
  process.stdout.on("error", bail);
  try {
    await admin(withDatabase(adminUrl, scratch), async (client) => {
      const applied = await applyMigrations(client);
      console.log(`migrations: ${applied.join(", ")}`);
      const started = Date.now();
      await seed(client);
      console.log(`seeded in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await describeData(client);
      const version = await client.query<{ server_version: string }>("SHOW server_version");
      console.log(`server ${version.rows[0]?.server_version ?? "?"}`);

      const queries = await buildQueries(client);
      await checkKeyset(client, queries);

      const all: Measured[] = [];
      for (const query of queries) {
        console.log(`\n${query.id}: ${query.label}`);
        for (const variant of query.variants) {
          const measured = await measure(client, query, variant);
          printMeasured(measured);
          all.push(measured);
        }
      }
      printSummary(all);
    });
  } finally {
    await dropScratch();
    console.log(`\ndropped ${scratch}`);
  }
}

await main();
