import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { type App, createApp, type Phase } from "./app.js";
import { setUpAuth } from "./auth/index.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { migrateWhenReachable } from "./db/migrate.js";
import type { Logger } from "./logger.js";
import { serveGraphQLOverWebSocket } from "./ws.js";

/**
 * One server process: the database pool, the app on the port, migrations,
 * and a graceful stop on SIGTERM/SIGINT. Runs on its own, or as one of
 * WEB_CONCURRENCY cluster workers (see cluster.ts).
 */
export async function runServer(config: Config, logger: Logger): Promise<void> {
  const db = await openDatabase(config.database, {
    onPoolError: (error) => logger.warn({ err: error }, "idle database connection failed; the pool replaces it"),
  });
  const where =
    config.database.kind === "pglite"
      ? `embedded PostgreSQL in ${config.database.dataDir}`
      : `${config.database.kind} (DATABASE_URL)`;
  logger.info({ database: config.database.kind }, `database: ${where}`);

  const { verifier, localSecretCreated, devTokens } = await setUpAuth(config.auth);
  if (config.auth.kind === "jwks") logger.info(`auth: tokens verified with the keys at ${config.auth.jwksUrl}`);
  if (config.auth.kind === "secret") logger.info("auth: HS256 tokens signed with AUTH_SECRET");
  if (config.auth.kind === "local") {
    logger.warn(
      `auth: no AUTH_JWKS_URL or AUTH_SECRET, so a local development secret is used (${
        localSecretCreated ? "made just now in" : "from"
      } ${config.auth.file}). Get a token with: npm run token -- <user-id>`,
    );
  }

  // Until the schema is known to be current, /graphql and /api answer 503.
  let phase: Phase = config.migrateOnStart ? "starting" : "serving";
  const app = await createApp({
    config,
    db,
    logger,
    verifier,
    ...(devTokens ? { devTokens } : {}),
    phase: () => phase,
  });
  const handlers = trackInFlight(app);
  const fetch: App["fetch"] = async (request, env) => {
    const response = await handlers.fetch(request, env);
    // While draining, every answer closes its connection, so that keep-alive
    // clients move to a new one (another instance, once this one stops
    // listening) instead of sending on one that the deadline will cut.
    if (phase === "draining") closeAfter(response);
    return response;
  };
  const server = serve({ fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
    const host = info.address === "0.0.0.0" || info.address === "::" ? "localhost" : info.address;
    logger.info(`tasks-api listening on http://${host}:${info.port}`);
    logger.info(`web app: http://${host}:${info.port}/`);
    if (config.graphiql) logger.info(`GraphiQL: http://${host}:${info.port}/graphql`);
    if (config.trustedDocuments.only) {
      logger.info("trusted documents: /graphql runs only the operations in the manifests (TRUSTED_DOCUMENTS)");
    }
  });

  const ws = serveGraphQLOverWebSocket(server as Server, app, logger, {
    maxPayloadBytes: config.maxBodyBytes,
    accepting: () => phase === "serving",
  });

  if (config.migrateOnStart) {
    migrateWhenReachable(db, logger, () => phase === "draining").then(
      (done) => {
        if (done && phase === "starting") phase = "serving";
      },
      (error: unknown) => {
        logger.fatal({ err: error }, `migrations failed: ${error instanceof Error ? error.message : String(error)}`);
        logger.flush();
        process.exit(1);
      },
    );
  }

  async function shutdown(signal: string): Promise<void> {
    if (phase === "draining") return;
    phase = "draining";
    logger.info(
      { signal, delayMs: config.shutdownDelayMs, graceMs: config.shutdownGraceMs },
      "shutting down: not ready from now on, draining in-flight requests",
    );
    // Keep accepting for a moment, so that load balancers see /readyz fail and
    // stop sending traffic before the listener closes.
    if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    // Live streams end now (WebSocket with 1001, SSE with its complete
    // event): their clients resume from their last cursor on another instance.
    app.endStreams();
    await ws.close();
    const force = setTimeout(() => {
      logger.warn("grace period over: closing remaining connections");
      if ("closeAllConnections" in server) server.closeAllConnections();
    }, config.shutdownGraceMs);
    force.unref();
    // close() stops listening and closes the connections that are idle now;
    // busy ones close after their answer (Connection: close, above).
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    if ("closeIdleConnections" in server) server.closeIdleConnections();
    await closed;
    clearTimeout(force);
    // Closing the server (or cutting its connections) does not stop handlers
    // already running: they finish, and need the database until they do.
    await handlers.settled();
    await app.close();
    await db.close();
    logger.info("stopped");
    logger.flush();
    process.exit(0);
  }

  // `on`, not `once`: a second signal (Ctrl-C in a terminal reaches a cluster's
  // workers and its primary, which passes it on) must not kill a draining process.
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
}

/** Marks a response to close its connection once sent. */
function closeAfter(response: Response): void {
  try {
    response.headers.set("connection", "close");
  } catch {
    // Immutable headers (a Response from fetch()): it goes out as it is.
  }
}

/** The app's fetch, counting the handlers still running (also those whose client is gone). */
export function trackInFlight(app: App): { fetch: App["fetch"]; settled(): Promise<void> } {
  let inFlight = 0;
  let onSettled: (() => void) | undefined;
  return {
    fetch: async (request, env) => {
      inFlight++;
      try {
        return await app.fetch(request, env);
      } finally {
        inFlight--;
        if (inFlight === 0) onSettled?.();
      }
    },
    settled: () => (inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onSettled = resolve))),
  };
}
