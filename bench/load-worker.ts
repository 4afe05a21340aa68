/**
 * The load generator: a separate process (forked by bench/run.ts) so that its
 * CPU is not the server's, driven over IPC. Closed loop with autocannon; open
 * loop with the fixed-rate sender in lib/open-loop.ts. Every request comes
 * from the workload generators in lib/workloads.ts.
 */
import autocannon from "autocannon";
import type { FromWorker, LoadJob, LoadResult, ToWorker } from "./lib/load-protocol.js";
import { runOpenLoop } from "./lib/open-loop.js";
import { summarize } from "./lib/stats.js";
import { type Fixtures, isExpected, makeWorkload, type Outgoing, type Workload } from "./lib/workloads.js";

let fixtures: Fixtures | undefined;
/** Per target and workload, for the whole benchmark: the write mix keeps its queues across runs. */
const workloads = new Map<string, Workload>();

function workloadFor(job: LoadJob): Workload {
  if (!fixtures) throw new Error("The load worker was not given its fixtures.");
  const key = `${job.baseUrl} ${job.workload}`;
  let workload = workloads.get(key);
  if (!workload) {
    workload = makeWorkload(job.workload, fixtures);
    workloads.set(key, workload);
  }
  return workload;
}

interface Slot {
  out?: Outgoing;
}

/**
 * Closed loop: `connections` keep-alive connections, each sending its next
 * request as soon as the last is answered (no pipelining). Latency is
 * autocannon's per-response time; percentiles are computed here from every
 * response, since autocannon's histogram has no p95.
 */
function runClosedLoop(job: LoadJob, workload: Workload): Promise<LoadResult> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unexpected = 0;
  let example: string | undefined;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: job.baseUrl,
        connections: job.connections,
        pipelining: 1,
        duration: job.durationS,
        timeout: 10,
        initialContext: {},
        requests: [
          {
            setupRequest: (request, context) => {
              const out = workload.next();
              (context as Slot).out = out;
              return {
                ...request,
                method: out.method,
                path: out.path,
                headers: out.headers,
                body: out.body ?? "",
              };
            },
            onResponse: (status, body, context) => {
              const out = (context as Slot).out;
              if (!out) return;
              if (!isExpected(out, status, body)) {
                unexpected += 1;
                example ??= `${out.method} ${out.path} -> ${status} ${body.slice(0, 300)}`;
              }
              out.done?.(status, body);
            },
          },
        ],
      },
      (error: unknown, result) => {
        if (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
          return;
        }
        const cpu = process.cpuUsage(cpuBefore);
        resolve({
          responses: latencies.length,
          seconds: result.duration > 0 ? result.duration : (performance.now() - started) / 1000,
          sent: latencies.length,
          latency: summarize(latencies),
          statuses,
          unexpected,
          failures: result.errors + result.timeouts,
          ...(example === undefined ? {} : { example }),
          loadCpuMs: (cpu.user + cpu.system) / 1000,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      latencies.push(responseTime);
      statuses[statusCode] = (statuses[statusCode] ?? 0) + 1;
    });
  });
}

function reply(message: FromWorker): void {
  process.send?.(message);
}

process.on("message", (message: ToWorker) => {
  if (message.type === "init") {
    fixtures = message.fixtures;
    reply({ type: "ready" });
    return;
  }
  if (message.type === "exit") {
    process.exit(0);
  }
  const { id, job } = message;
  const run = async () => {
    const workload = workloadFor(job);
    return job.mode === "closed"
      ? runClosedLoop(job, workload)
      : runOpenLoop(job.baseUrl, workload, job.rate, job.durationS);
  };
  run().then(
    (result) => reply({ type: "result", id, result }),
    (error: unknown) => reply({ type: "failed", id, message: error instanceof Error ? error.message : String(error) }),
  );
});

process.on("disconnect", () => process.exit(0));
