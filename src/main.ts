import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { createApp } from "./app.js";
import { setUpAuth } from "./auth/index.js";
import { ConfigError, loadConfig } from "./config.js";
import { openDatabase } from "./db/database.js";
import { createLogger } from "./logger.js";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}

const logger = createLogger(config);
const db = await openDatabase(config.database, {
  onPoolError: (error) => logger.warn({ err: error }, "idle database connection failed; the pool replaces it"),
});
const where =
  config.database.kind === "pglite"
    ? `embedded PostgreSQL in ${config.database.dataDir}`
    : `${config.database.kind} (DATABASE_URL)`;
logger.info({ database: config.database.kind }, `database: ${where}`);

if (config.migrateOnStart) {
  const applied = await db.migrate();
  logger.info(
    { applied },
    applied.length === 0 ? "migrations: up to date" : `migrations: applied ${applied.join(", ")}`,
  );
}

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

const app = await createApp({ config, db, logger, verifier });
const server = serve({ fetch: app.fetch, hostname: config.host, port: config.port }, (info: AddressInfo) => {
  const host = info.address === "0.0.0.0" || info.address === "::" ? "localhost" : info.address;
  logger.info(`tasks-api listening on http://${host}:${info.port}`);
  if (config.graphiql) logger.info(`GraphiQL: http://${host}:${info.port}/graphql`);
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down: draining in-flight requests");
  app.drain();
  const force = setTimeout(() => {
    logger.warn("grace period over: closing remaining connections");
    if ("closeAllConnections" in server) server.closeAllConnections();
  }, config.shutdownGraceMs);
  force.unref();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  clearTimeout(force);
  await db.close();
  logger.info("stopped");
  logger.flush();
  process.exit(0);
}

process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
