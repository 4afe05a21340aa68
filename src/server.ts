import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { setUpAuth } from "./auth/index.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/database.js";
import { isDatabaseUnavailable } from "./db/errors.js";
import type { Logger } from "./logger.js";

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

  const { verifier, localSecretCreated } = await setUpAuth(config.auth);
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
  let migrated = !config.migrateOnStart;
  const app = await createApp({ config, db, logger, verifier, serving: () => migrated });
  const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
    const host = info.address === "0.0.0.0" || info.address === "::" ? "localhost" : info.address;
    logger.info(`tasks-api listening on http://${host}:${info.port}`);
    if (config.graphiql) logger.info(`GraphiQL: http://${host}:${info.port}/graphql`);
  });

  let stopping = false;
  if (config.migrateOnStart) {
    void migrateWhenReachable(db, logger, () => stopping).then((done) => {
      migrated = done;
    });
  }

  async function shutdown(signal: string): Promise<void> {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, delayMs: config.shutdownDelayMs, graceMs: config.shutdownGraceMs },
      "shutting down: not ready from now on, draining in-flight requests",
    );
    app.drain();
    // Keep accepting for a moment, so that load balancers see /readyz fail and
    // stop sending traffic before the listener closes.
    if (config.shutdownDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, config.shutdownDelayMs));
    const force = setTimeout(() => {
      logger.warn("grace period over: closing remaining connections");
      if ("closeAllConnections" in server) server.closeAllConnections();
    }, config.shutdownGraceMs);
    force.unref();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    clearTimeout(force);
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

/**
 * Applies pending migrations, waiting for the database if it is not there
 * yet: the process stays up (and not ready) rather than crash-looping. A
 * migration that fails for another reason is fatal. False if stopped first.
 */
export async function migrateWhenReachable(db: Database, logger: Logger, stopping: () => boolean): Promise<boolean> {
  for (let attempt = 1; !stopping(); attempt++) {
    try {
      const applied = await db.migrate();
      logger.info(
        { applied },
        applied.length === 0 ? "migrations: up to date" : `migrations: applied ${applied.join(", ")}`,
      );
      return true;
    } catch (error) {
      if (stopping()) return false;
      if (!isDatabaseUnavailable(error)) {
        logger.fatal({ err: error }, "migrations failed");
        process.exit(1);
      }
      const waitMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      logger.warn(
        { err: error, attempt, waitMs },
        "database unreachable: migrations wait for it; not ready until then",
      );
      await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
    }
  }
  return false;
}
