import { Agent, request } from "node:http";
import type { LoadResult } from "./load-protocol.js";
import { summarize } from "./stats.js";
import { isExpected, type Workload } from "./workloads.js";

const agents = new Map<string, Agent>();

/**
 * Keep-alive connections per target, kept from warm-up to measured run. An
 * idle connection is closed by this side after 4 s (or 1 s before the
 * server's `Keep-Alive: timeout`, whichever is sooner), so that a request is
 * never sent on a connection the server is closing at that moment: that race
 * shows up as ECONNRESET and is the client's doing, not the server's.
 */
function agentFor(baseUrl: string): Agent {
  let agent = agents.get(baseUrl);
  if (!agent) {
    agent = new Agent({ keepAlive: true, timeout: 4000, maxSockets: 1024, maxFreeSockets: 1024 });
    agents.set(baseUrl, agent);
  }
  return agent;
}

/**
 * Open loop at a fixed rate: request i is due at start + i/rate and is sent
 * then, whether or not earlier ones have been answered (a new connection is
 * opened when none is free). Latency is measured from the moment a request
 * was due, not from when it was sent, so a stalled server or a late timer
 * shows in the percentiles instead of being hidden (no coordinated
 * omission). autocannon's own rate limit is not used for this: it releases
 * each connection's quota at the start of every second, which makes bursts,
 * and it back-fills latencies at a 1 ms interval.
 */
export function runOpenLoop(baseUrl: string, workload: Workload, rate: number, durationS: number): Promise<LoadResult> {
  const url = new URL(baseUrl);
  const agent = agentFor(baseUrl);
  const total = Math.max(1, Math.round(rate * durationS));
  const interval = 1000 / rate;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let unexpected = 0;
  let failures = 0;
  let example: string | undefined;
  let sent = 0;
  let finished = 0;
  const cpuBefore = process.cpuUsage();
  const start = performance.now() + 5;

  return new Promise((resolve) => {
    const finish = () => {
      const cpu = process.cpuUsage(cpuBefore);
      resolve({
        responses: latencies.length,
        seconds: durationS,
        sent,
        latency: summarize(latencies),
        statuses,
        unexpected,
        failures,
        ...(example === undefined ? {} : { example }),
        loadCpuMs: (cpu.user + cpu.system) / 1000,
      });
    };
    const settle = () => {
      finished += 1;
      if (finished === total) finish();
    };

    const send = (due: number) => {
      const out = workload.next();
      const body = out.body === undefined ? undefined : Buffer.from(out.body);
      const headers: Record<string, string> = { ...out.headers };
      if (body) headers["content-length"] = String(body.length);
      sent += 1;
      let settled = false;
      const once = (record: () => void) => {
        if (settled) return;
        settled = true;
        record();
        settle();
      };
      const req = request(
        { host: url.hostname, port: url.port, method: out.method, path: out.path, headers, agent, timeout: 10_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            once(() => {
              latencies.push(performance.now() - due);
              const status = res.statusCode ?? 0;
              const text = Buffer.concat(chunks).toString("utf8");
              statuses[status] = (statuses[status] ?? 0) + 1;
              if (!isExpected(out, status, text)) {
                unexpected += 1;
                example ??= `${out.method} ${out.path} -> ${status} ${text.slice(0, 300)}`;
              }
              out.done?.(status, text);
            }),
          );
          res.on("error", () => once(() => (failures += 1)));
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (error) =>
        once(() => {
          failures += 1;
          example ??= `${out.method} ${out.path} -> ${error.message}`;
        }),
      );
      req.end(body);
    };

    let next = 0;
    const tick = () => {
      const now = performance.now();
      while (next < total && start + next * interval <= now) {
        send(start + next * interval);
        next += 1;
      }
      if (next < total) setTimeout(tick, Math.max(0, start + next * interval - performance.now()));
    };
    setTimeout(tick, 5);
  });
}
