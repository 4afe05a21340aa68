import cluster from "node:cluster";
import { loadConfigOrExit } from "./config.js";
import { createLogger } from "./logger.js";

const config = loadConfigOrExit();

if (config.workers > 1 && cluster.isPrimary) {
  const { runCluster } = await import("./cluster.js");
  await runCluster(config, createLogger(config));
} else {
  const { runServer } = await import("./server.js");
  const logger = createLogger(config);
  // A worker's lines say which worker and which process wrote them.
  await runServer(config, cluster.worker ? logger.child({ worker: cluster.worker.id, pid: process.pid }) : logger);
}
