/**
 * The baselines: what this machine and stack can do without the service.
 *
 *   B0  node:http answering "hello": the HTTP floor.
 *   B2  node:http + pg: the W1 list query (one user's 50 newest tasks, keyset
 *       order on the (user_id, created_at DESC, id DESC) index, 51 rows read
 *       to know whether there is a next page, as the service does), and
 *       JSON.stringify of the rows. The fair limit for this stack.
 *       The W2 route (GET /api/:user/tasks/:id) is the same thing for one
 *       task by id and owner: W2's own bare baseline. The W3 routes (POST,
 *       PUT, PATCH .../complete, DELETE) are the write mix's: each write and
 *       its change event (the user's change_seq, the task_events row with
 *       the task's snapshot, the NOTIFY) with the statements the service
 *       sends: a create or delete is one statement; an update or toggle is
 *       a transaction of the write and then the event.
 *   B3  B2 + HS256 verification of the bearer token on every request (jose,
 *       no cache), with the token's subject as the user.
 *
 * Env: BASELINE (b0 | b2 | b3), PORT, DATABASE_URL, AUTH_SECRET, DATABASE_POOL_MAX (10),
 * WORKERS (1: one process; more: a node:cluster of that many on one port, as
 * the service runs WEB_CONCURRENCY workers).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { jwtVerify } from "jose";
import pg from "pg";
import { servesHere } from "./cluster.js";

const mode = process.env.BASELINE;
if (mode !== "b0" && mode !== "b2" && mode !== "b3") throw new Error("BASELINE must be b0, b2 or b3");
const port = Number(process.env.PORT ?? 0);

/** Every column a task answer carries, as the service reads them. */
const columns = `id, user_id, title, description, is_completed, completed_at, created_at, updated_at, version,
  due_at, due_all_day, priority, label_count`;
const listSql = `SELECT ${columns} FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 51`;
const getSql = `SELECT ${columns} FROM tasks WHERE user_id = $1 AND id = $2::uuid`;
/** The task in row `t` and its labels (none for a task the mix made), as the event's snapshot. */
const snapshot = `to_jsonb(t) || jsonb_build_object('labels', COALESCE((
    SELECT jsonb_agg(jsonb_build_object('label', to_jsonb(l)) ORDER BY l.name_key, l.id)
    FROM task_labels tl JOIN labels l ON l.id = tl.label_id AND l.user_id = tl.user_id
    WHERE tl.task_id = t.id AND tl.user_id = t.user_id), '[]'::jsonb))`;
/** A create or a delete ($1 the user) and its event, in one statement. */
const withEvent = (kind: "CREATED" | "DELETED", write: string) => `
  WITH t AS (${write}),
  s AS (UPDATE users SET change_seq = change_seq + 1 WHERE id = $1 AND EXISTS (SELECT 1 FROM t) RETURNING change_seq),
  e AS (INSERT INTO task_events (user_id, seq, task_id, kind, version, task)
    SELECT t.user_id, s.change_seq, t.id, '${kind}', t.version, ${kind === "DELETED" ? "NULL::jsonb" : snapshot} FROM t, s),
  n AS (SELECT pg_notify('tasks_api_changes', $1) FROM s)
  SELECT t.* FROM t, (SELECT count(*) FROM n) AS notified`;
const createSql = withEvent(
  "CREATED",
  `INSERT INTO tasks (user_id, title, description) VALUES ($1, $2, $3) RETURNING ${columns}`,
);
const deleteSql = withEvent("DELETED", `DELETE FROM tasks WHERE id = $2::uuid AND user_id = $1 RETURNING ${columns}`);
const updateSql = `UPDATE tasks SET title = $3, description = $4, version = version + 1, updated_at = now()
  WHERE id = $2::uuid AND user_id = $1 RETURNING ${columns}`;
const toggleSql = `UPDATE tasks SET is_completed = NOT is_completed,
    completed_at = CASE WHEN is_completed THEN NULL ELSE now() END, version = version + 1, updated_at = now()
  WHERE id = $2::uuid AND user_id = $1 RETURNING ${columns}`;
/** An update's event, after its write in the same transaction. */
const updatedEventSql = `
  WITH s AS (UPDATE users SET change_seq = change_seq + 1 WHERE id = $1 RETURNING change_seq),
  e AS (INSERT INTO task_events (user_id, seq, task_id, kind, version, task)
    SELECT t.user_id, s.change_seq, t.id, 'UPDATED', t.version, ${snapshot}
    FROM (SELECT ${columns} FROM tasks WHERE user_id = $1 AND id = $2::uuid) t, s RETURNING 1)
  SELECT count(*)::int AS notified FROM (SELECT pg_notify('tasks_api_changes', $1) FROM s) AS n
  WHERE EXISTS (SELECT 1 FROM e)`;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const pool =
  mode === "b0"
    ? undefined
    : new pg.Pool({
        connectionString: process.env.DATABASE_URL,
        max: Number(process.env.DATABASE_POOL_MAX ?? 10),
        idleTimeoutMillis: 30_000,
        keepAlive: true,
      });
const key = new TextEncoder().encode(process.env.AUTH_SECRET ?? "");

function send(res: ServerResponse, status: number, body: string, type = "application/json"): void {
  res.writeHead(status, { "content-type": type, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function answer(req: IncomingMessage, res: ServerResponse, db: pg.Pool): Promise<void> {
  const match = /^\/api\/([^/?]+)\/tasks(?:\/([^/?]+)(?:\/complete)?)?(?:\?|$)/.exec(req.url ?? "");
  const pathUser = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
  if (pathUser === undefined) return send(res, 404, '{"error":{"code":"NOT_FOUND"}}');
  const taskId = match?.[2];
  let user = pathUser;
  if (mode === "b3") {
    const header = req.headers.authorization;
    const token = header === undefined ? undefined : /^Bearer +(\S+)$/i.exec(header)?.[1];
    try {
      if (token === undefined) throw new Error("no token");
      const { payload } = await jwtVerify(token, key, { algorithms: ["HS256"], requiredClaims: ["sub", "exp"] });
      user = String(payload.sub);
    } catch {
      return send(res, 401, '{"error":{"code":"UNAUTHENTICATED"}}');
    }
    if (user !== pathUser) return send(res, 403, '{"error":{"code":"FORBIDDEN"}}');
  }
  if (req.method !== "GET") return write(req, res, db, user, taskId);
  if (taskId !== undefined) {
    if (!uuid.test(taskId)) return send(res, 404, '{"error":{"code":"NOT_FOUND"}}');
    const { rows } = await db.query(getSql, [user, taskId]);
    if (rows[0] === undefined) return send(res, 404, '{"error":{"code":"NOT_FOUND"}}');
    return send(res, 200, JSON.stringify({ data: rows[0] }));
  }
  const { rows } = await db.query(listSql, [user]);
  const data = rows.slice(0, 50);
  send(res, 200, JSON.stringify({ data, meta: { count: data.length, has_more: rows.length > 50 } }));
}

async function body(req: IncomingMessage): Promise<{ title?: unknown; description?: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString("utf8")) as object);
}

/** The write mix's four routes. */
async function write(req: IncomingMessage, res: ServerResponse, db: pg.Pool, user: string, taskId: string | undefined) {
  const notFound = () => send(res, 404, '{"error":{"code":"NOT_FOUND"}}');
  if (req.method === "POST" && taskId === undefined) {
    const { title, description } = await body(req);
    const { rows } = await db.query(createSql, [user, String(title), description ?? null]);
    return send(res, 201, JSON.stringify({ data: rows[0] }));
  }
  const complete = req.url?.endsWith("/complete") === true;
  if (taskId === undefined || !uuid.test(taskId)) return notFound();
  if (req.method === "DELETE") {
    const { rowCount } = await db.query(deleteSql, [user, taskId]);
    if (rowCount === 0) return notFound();
    res.writeHead(204).end();
    return;
  }
  if (req.method !== (complete ? "PATCH" : "PUT")) return notFound();
  const { title, description } = complete ? {} : await body(req);
  const client = await db.connect();
  try {
    await client.query("BEGIN");
    const { rows } = complete
      ? await client.query(toggleSql, [user, taskId])
      : await client.query(updateSql, [user, taskId, String(title), description ?? null]);
    if (rows[0] === undefined) {
      await client.query("ROLLBACK");
      return notFound();
    }
    await client.query(updatedEventSql, [user, taskId]);
    await client.query("COMMIT");
    send(res, 200, JSON.stringify({ data: rows[0] }));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}

const server = createServer((req, res) => {
  if (req.url === "/healthz" || mode === "b0" || pool === undefined) return send(res, 200, "hello", "text/plain");
  answer(req, res, pool).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) send(res, 500, '{"error":{"code":"INTERNAL_SERVER_ERROR"}}');
  });
});
server.keepAliveTimeout = 65_000;
if (servesHere(`baseline ${mode}`)) {
  server.listen(port, "127.0.0.1", () => console.log(`baseline ${mode} listening on ${port}`));
  const stop = () => {
    server.close();
    server.closeAllConnections();
    void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(0));
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}
