/**
 * The baselines: what this machine and stack can do without the service.
 *
 *   B0  node:http answering "hello": the HTTP floor.
 *   B2  node:http + pg: the W1 list query (one user's 50 newest tasks, keyset
 *       order on the (user_id, created_at DESC, id DESC) index, 51 rows read
 *       to know whether there is a next page, as the service does), and
 *       JSON.stringify of the rows. The fair limit for this stack.
 *       The W2 route (GET /api/:user/tasks/:id) is the same thing for one
 *       task by id and owner: W2's own bare baseline.
 *   B3  B2 + HS256 verification of the bearer token on every request (jose,
 *       no cache), with the token's subject as the user.
 *
 * Env: BASELINE (b0 | b2 | b3), PORT, DATABASE_URL, AUTH_SECRET, DATABASE_POOL_MAX (10).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { jwtVerify } from "jose";
import pg from "pg";

const mode = process.env.BASELINE;
if (mode !== "b0" && mode !== "b2" && mode !== "b3") throw new Error("BASELINE must be b0, b2 or b3");
const port = Number(process.env.PORT ?? 0);

/** Every column a task answer carries, as the service reads them. */
const columns = `id, user_id, title, description, is_completed, completed_at, created_at, updated_at, version,
  due_at, due_all_day, priority, label_count`;
const listSql = `SELECT ${columns} FROM tasks WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT 51`;
const getSql = `SELECT ${columns} FROM tasks WHERE user_id = $1 AND id = $2::uuid`;
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
  const match = /^\/api\/([^/?]+)\/tasks(?:\/([^/?]+))?(?:\?|$)/.exec(req.url ?? "");
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

const server = createServer((req, res) => {
  if (req.url === "/healthz" || mode === "b0" || pool === undefined) return send(res, 200, "hello", "text/plain");
  answer(req, res, pool).catch((error: unknown) => {
    console.error(error);
    if (!res.headersSent) send(res, 500, '{"error":{"code":"INTERNAL_SERVER_ERROR"}}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(port, "127.0.0.1", () => console.log(`baseline ${mode} listening on ${port}`));

const stop = () => {
  server.close();
  server.closeAllConnections();
  void (pool?.end() ?? Promise.resolve()).finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
