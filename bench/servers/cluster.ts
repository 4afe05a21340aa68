/**
 * WORKERS (default 1) processes for one server, as the service runs
 * WEB_CONCURRENCY workers: with more than one, this process forks that many
 * copies of itself, which share the port (node:cluster, round robin), and
 * only forks, passes SIGTERM/SIGINT on and exits when they have.
 */
import cluster from "node:cluster";

/** Whether this process is to serve (a worker, or the only process); false in a cluster's primary. */
export function servesHere(name: string): boolean {
  const workers = Number(process.env.WORKERS ?? 1);
  if (!(workers > 1) || !cluster.isPrimary) return true;
  for (let i = 0; i < workers; i++) cluster.fork();
  let listening = 0;
  cluster.on("listening", () => {
    listening += 1;
    if (listening === workers) console.log(`${name}: ${workers} workers listening`);
  });
  cluster.on("exit", () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
  const stop = () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  return false;
}
