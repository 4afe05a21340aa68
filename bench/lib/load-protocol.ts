import type { LatencySummary } from "./stats.js";
import type { Fixtures, WorkloadId } from "./workloads.js";

/** One measured (or warm-up) stretch of load against one target. */
export interface LoadJob {
  baseUrl: string;
  workload: WorkloadId;
  /** closed: `connections` connections, each sending its next request when the last is answered. */
  mode: "closed" | "open";
  connections: number;
  /** open: requests per second, sent on schedule whatever the answers. */
  rate: number;
  durationS: number;
}

export interface LoadResult {
  /** Responses received. */
  responses: number;
  /** Seconds the load ran. */
  seconds: number;
  /** For open loop: requests sent (on schedule). */
  sent: number;
  latency: LatencySummary;
  statuses: Record<string, number>;
  /** Responses other than the one expected (or GraphQL `errors`). */
  unexpected: number;
  /** Connection errors and timeouts. */
  failures: number;
  /** The first unexpected response, for the log. */
  example?: string;
  /** Load generator CPU (ms) during the run. */
  loadCpuMs: number;
}

export type ToWorker =
  | { type: "init"; fixtures: Fixtures }
  | { type: "run"; id: number; job: LoadJob }
  | { type: "exit" };

export type FromWorker =
  | { type: "ready" }
  | { type: "result"; id: number; result: LoadResult }
  | { type: "failed"; id: number; message: string };
