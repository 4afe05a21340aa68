import cluster, { type Worker } from "node:cluster";
import { setUpAuth } from "./auth/index.js";
import type { Config } from "./config.js";
import { openDatabase } from "./db/database.js";
import { migrateWhenReachable } from "./db/migrate.js";
import type { Logger } from "./logger.js";

/**
 * WEB_CONCURRENCY > 1: this process only supervises. It applies the
 * migrations once, then forks that many workers (server.ts each) that share
 * the port, replaces a worker that dies, and on SIGTERM/SIGINT passes the
 * signal on and exits when every worker has drained.
 */
export async function runCluster(config: Config, logger: Logger): Promise<void> {
  let stopping = false;
  let failed = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "stopping the workers");
    const workers = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker.process.kill(signal);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));

  // Made once here, so that workers do not race to create it.
  if (config.auth.kind === "local") await setUpAuth(config.auth);

  if (config.migrateOnStart) {
    const db = await openDatabase(config.database, {
      onPoolError: (error) => logger.warn({ err: error }, "idle database connection failed"),
    });
    const done = await migrateWhenReachable(db, logger, () => stopping).catch((error: unknown) => {
      logger.fatal({ err: error }, `migrations failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    });
    await db.close();
    if (!done) process.exit(0);
  }

  // The schema is current: workers serve at once.
  const workerEnv = { MIGRATE_ON_START: "false" };
  const listening = new Set<number>();
  cluster.on("listening", (worker) => listening.add(worker.id));
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (code !== 0) failed = true;
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        logger.info("all workers stopped");
        logger.flush();
        process.exit(failed ? 1 : 0);
      }
      return;
    }
    if (!listening.has(worker.id)) {
      // It never served: a start-up failure (port taken, bad settings) that another try would repeat.
      logger.fatal({ worker: worker.id, code, signal }, "a worker failed to start; stopping");
      failed = true;
      stop("SIGTERM");
      return;
    }
    logger.error({ worker: worker.id, code, signal }, "a worker exited; starting another");
    setTimeout(() => {
      if (!stopping) cluster.fork(workerEnv);
    }, 1_000).unref();
  });
  for (let i = 0; i < config.workers; i++) cluster.fork(workerEnv);
  logger.info({ workers: config.workers }, `started ${config.workers} workers`);
}
