import type { LoadResult } from "./load-protocol.js";
import type { ProfileSummary } from "./profile.js";
import type { LatencySummary } from "./stats.js";
import { median } from "./stats.js";
import type { WorkloadId } from "./workloads.js";

export interface Shape {
  /** "c100" or "r400". */
  id: string;
  mode: "closed" | "open";
  connections: number;
  rate: number;
  label: string;
}

export interface RowSpec {
  id: string;
  label: string;
  /** Which server process answers it. */
  server: string;
  workload: WorkloadId;
  /** "service" rows are the ones the targets are about. */
  kind: "service" | "baseline" | "peer" | "pglite";
  /** The bare baseline its "× B2" columns compare with: B2 for the list, B2-W2 for one task by id. */
  baseline?: string;
}

/** One measured run. */
export interface Run {
  row: string;
  shape: string;
  repeat: number;
  rps: number;
  latency: LatencySummary;
  responses: number;
  seconds: number;
  serverCpuMsPerReq: number;
  dbCpuMsPerReq: number;
  loadCpuMsPerReq: number;
  /**
   * CPU used meanwhile by processes outside the benchmark, in % of one core:
   * the machine's busy time less the server's, the database's, the load
   * generator's and the runner's. Above a few % the run was disturbed.
   */
  otherCpuPct: number;
  peakRssMb: number;
  errors: number;
  statuses: Record<string, number>;
  example?: string;
}

/** The median of a cell's runs, metric by metric. */
export interface Cell {
  row: string;
  shape: string;
  runs: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  serverCpuMsPerReq: number;
  dbCpuMsPerReq: number;
  peakRssMb: number;
  /** Summed over the runs, not a median: any error counts. */
  errors: number;
  responses: number;
}

export interface WireCount {
  row: string;
  requests: number;
  statements: number;
  roundTrips: number;
  parses: number;
  /** A failed check of a response body, if any. */
  problem?: string;
  /** Per request kind (method and route), for mixes. */
  byRequest: { request: string; requests: number; statements: number; roundTrips: number }[];
}

export interface TargetCheck {
  target: string;
  measured: string;
  goal: string;
  met: boolean | null;
  note?: string;
}

export interface TokenCost {
  cacheHitUs: number;
  freshHs256Us: number;
  w1RestCpuUsPerReq: number;
  /** cacheHitUs / w1RestCpuUsPerReq, in %. */
  sharePct: number;
  /** Inclusive share of src/auth in the W1 REST profile, in %, if profiled. */
  profileSharePct?: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  postgres: string;
  date: string;
  commit: string;
  autocannon: string;
  postgraphile: string;
}

export interface Report {
  machine: Machine;
  settings: {
    durationS: number;
    warmupS: number;
    repeat: number;
    quick: boolean;
    concurrency: number[];
    rates: number[];
    /** Processes per server (the service's WEB_CONCURRENCY; cluster workers of each baseline and the peer). */
    processes?: number;
    serviceEnv: Record<string, string>;
    peakRssPerRun: boolean;
  };
  data: {
    users: number;
    tasks: number;
    completed: number;
    titles: number;
    seedSeconds: number;
    pgliteSeedSeconds?: number;
  };
  shapes: Shape[];
  rows: RowSpec[];
  cells: Cell[];
  runs: Run[];
  counts: WireCount[];
  targets: TargetCheck[];
  tokenCost?: TokenCost;
  profiles: { label: string; summary: ProfileSummary }[];
  memory?: Memory;
  notes: string[];
  peer: { ran: boolean; note: string };
}

/** Resident memory of each server: idle, and over a long run at a steady load. */
export interface Memory {
  /** RSS (MiB, summed over the server's processes) after start and readiness, before any load. */
  idleRssMb: Record<string, number>;
  soak?: Soak;
}

/** The service under a steady open-loop mix for a long stretch, its RSS sampled as it goes. */
export interface Soak {
  workload: string;
  rate: number;
  seconds: number;
  /** [seconds since the start, RSS MiB] after each stretch. */
  samples: [number, number][];
  responses: number;
  errors: number;
  p99Ms: number;
}

export function runFrom(
  row: string,
  shape: string,
  repeat: number,
  result: LoadResult,
  cpu: { server: number; db: number; other: number },
  peakRssMb: number,
): Run {
  const n = Math.max(1, result.responses);
  return {
    row,
    shape,
    repeat,
    rps: result.responses / result.seconds,
    latency: result.latency,
    responses: result.responses,
    seconds: result.seconds,
    serverCpuMsPerReq: cpu.server / n,
    dbCpuMsPerReq: cpu.db / n,
    loadCpuMsPerReq: result.loadCpuMs / n,
    otherCpuPct: (Math.max(0, cpu.other) / (result.seconds * 1000)) * 100,
    peakRssMb,
    errors: result.unexpected + result.failures,
    statuses: result.statuses,
    ...(result.example === undefined ? {} : { example: result.example }),
  };
}

export function cellOf(row: string, shape: string, runs: Run[]): Cell {
  const mine = runs.filter((run) => run.row === row && run.shape === shape);
  return {
    row,
    shape,
    runs: mine.length,
    rps: median(mine.map((run) => run.rps)),
    p50: median(mine.map((run) => run.latency.p50)),
    p95: median(mine.map((run) => run.latency.p95)),
    p99: median(mine.map((run) => run.latency.p99)),
    serverCpuMsPerReq: median(mine.map((run) => run.serverCpuMsPerReq)),
    dbCpuMsPerReq: median(mine.map((run) => run.dbCpuMsPerReq)),
    peakRssMb: median(mine.map((run) => run.peakRssMb)),
    errors: mine.reduce((total, run) => total + run.errors, 0),
    responses: mine.reduce((total, run) => total + run.responses, 0),
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "–");
const ratio = (value: number, base: number | undefined) =>
  base === undefined || !Number.isFinite(value) || !Number.isFinite(base) || base === 0
    ? "–"
    : `${(value / base).toFixed(2)}`;

/** A Markdown table; by default the first column is left-aligned (names) and the others right-aligned (figures). */
function table(header: string[], rows: string[][], textColumns = 1): string {
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < textColumns ? "---" : "---:")).join("|")}|`,
  ];
  for (const row of rows) lines.push(`| ${row.join(" | ")} |`);
  return lines.join("\n");
}

export function markdown(report: Report): string {
  const { machine, settings, data } = report;
  const out: string[] = [];
  out.push(
    `# tasks-api load benchmark, ${machine.date}${settings.quick ? " (BENCH_QUICK: smoke run, not for comparison)" : ""}`,
  );
  out.push("");
  out.push(
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}; Node ${machine.node}; ` +
      `PostgreSQL ${machine.postgres}; commit ${machine.commit}; autocannon ${machine.autocannon}; PostGraphile ${machine.postgraphile}. ` +
      "Server, database and load generator share this machine.",
  );
  out.push("");
  out.push(
    `Data: ${data.users} users × ${data.tasks / data.users} tasks (${data.tasks} rows, ${((data.completed / data.tasks) * 100).toFixed(1)} % completed, ` +
      `${data.titles} distinct titles), seeded in ${data.seedSeconds.toFixed(1)} s` +
      (data.pgliteSeedSeconds === undefined ? "" : ` (PGlite: ${data.pgliteSeedSeconds.toFixed(1)} s)`) +
      ".",
  );
  out.push("");
  out.push(
    `Processes: ${settings.processes ?? "service WEB_CONCURRENCY below; baselines and peer 1"} per server ` +
      `(the service's WEB_CONCURRENCY, and as many node:cluster workers for B0/B2/B3 and PostGraphile). ` +
      `Runs: ${settings.warmupS} s warm-up then ${settings.durationS} s measured, ${settings.repeat}× per cell, interleaved (every row at one load, then the next load; the row order rotates each round); medians shown, errors summed. ` +
      `Service env: ${Object.entries(settings.serviceEnv)
        .map(([key, value]) => `${key}=${value}`)
        .join(" ")}.`,
  );
  out.push("");

  out.push("## Targets (PostgreSQL, one run)");
  out.push("");
  out.push(
    table(
      ["target", "measured", "goal", "met"],
      report.targets.map((check) => [
        check.target,
        check.measured + (check.note ? ` (${check.note})` : ""),
        check.goal,
        check.met === null ? "n/a" : check.met ? "yes" : "**no**",
      ]),
      4,
    ),
  );
  out.push("");

  const disturbed = report.runs.filter((run) => run.otherCpuPct > 15);
  out.push(
    disturbed.length === 0
      ? "Quiet machine: no measured run saw more than 15 % of a core used by processes outside the benchmark."
      : `**Disturbed: ${disturbed.length} of ${report.runs.length} measured runs saw other processes use more than 15 % of a core** ` +
          `(worst ${Math.max(...disturbed.map((run) => run.otherCpuPct)).toFixed(0)} %: ` +
          `${disturbed
            .slice(0, 8)
            .map((run) => `${run.row}/${run.shape}#${run.repeat}`)
            .join(", ")}${disturbed.length > 8 ? ", …" : ""}); compare with care.`,
  );
  out.push("");

  const rowsById = new Map(report.rows.map((row) => [row.id, row]));
  const counts = new Map(report.counts.map((count) => [count.row, count]));
  for (const shape of report.shapes) {
    const cells = report.cells.filter((cell) => cell.shape === shape.id);
    if (cells.length === 0) continue;
    const baselineOf = (row: string) => {
      const id = rowsById.get(row)?.baseline ?? "b2";
      return cells.find((cell) => cell.row === id);
    };
    out.push(`## ${shape.label}`);
    out.push("");
    const header = [
      "row",
      "req/s",
      "× B2",
      "p50 ms",
      "p95 ms",
      "p99 ms",
      "CPU ms/req",
      "CPU × B2",
      "DB CPU ms/req",
      "peak RSS MB",
      "SQL/req",
      "errors",
    ];
    const lines = cells.map((cell) => {
      const count = counts.get(cell.row);
      const b2 = baselineOf(cell.row);
      return [
        rowsById.get(cell.row)?.label ?? cell.row,
        fixed(cell.rps, 0),
        shape.mode === "closed" ? ratio(cell.rps, b2?.rps) : "–",
        fixed(cell.p50, 1),
        fixed(cell.p95, 1),
        fixed(cell.p99, 1),
        fixed(cell.serverCpuMsPerReq, 3),
        ratio(cell.serverCpuMsPerReq, b2?.serverCpuMsPerReq),
        rowsById.get(cell.row)?.kind === "pglite" ? "(in process)" : fixed(cell.dbCpuMsPerReq, 3),
        fixed(cell.peakRssMb, 0),
        count === undefined ? "–" : fixed(count.statements / count.requests, 2),
        String(cell.errors),
      ];
    });
    out.push(table(header, lines));
    out.push("");
  }

  if (report.counts.length > 0) {
    out.push("## SQL per request (statement-count pass, counted on the wire)");
    out.push("");
    out.push(
      table(
        ["row / request", "requests", "statements/req", "round trips/req", "parses/req"],
        report.counts.flatMap((count) => {
          const label = rowsById.get(count.row)?.label ?? count.row;
          const first = [
            `${label}${count.problem ? ` (**check failed: ${count.problem}**)` : ""}`,
            String(count.requests),
            fixed(count.statements / count.requests, 2),
            fixed(count.roundTrips / count.requests, 2),
            fixed(count.parses / count.requests, 2),
          ];
          const details =
            count.byRequest.length > 1
              ? count.byRequest.map((part) => [
                  `  ↳ ${part.request}`,
                  String(part.requests),
                  fixed(part.statements / part.requests, 2),
                  fixed(part.roundTrips / part.requests, 2),
                  "",
                ])
              : [];
          return [first, ...details];
        }),
      ),
    );
    out.push("");
  }

  if (report.tokenCost) {
    const cost = report.tokenCost;
    out.push("## A repeated valid token");
    out.push("");
    out.push(
      `Cache hit in the verifier: ${cost.cacheHitUs.toFixed(2)} µs (a fresh HS256 verification: ${cost.freshHs256Us.toFixed(1)} µs), ` +
        `against ${cost.w1RestCpuUsPerReq.toFixed(0)} µs of server CPU per W1 REST request at 100 connections: ${cost.sharePct.toFixed(2)} %` +
        (cost.profileSharePct === undefined
          ? "."
          : `; the W1 REST profile has src/auth on the stack ${cost.profileSharePct.toFixed(2)} % of the busy time.`),
    );
    out.push("");
  }

  for (const { label, summary } of report.profiles) {
    out.push(`## CPU profile: ${label}`);
    out.push("");
    out.push(
      `${summary.samples} samples over the measured ${(summary.windowMs / 1000).toFixed(1)} s: busy ${summary.busyMs.toFixed(0)} ms, idle ${summary.idleMs.toFixed(0)} ms. Profile: \`${summary.file}\`.`,
    );
    out.push("");
    out.push("Inclusive (on the stack; groups overlap):");
    out.push("");
    out.push(
      table(
        ["group", "ms", "% of busy"],
        summary.inclusive.map((share) => [share.name, fixed(share.ms, 0), fixed(share.pct, 1)]),
      ),
    );
    out.push("");
    out.push("Self time by package:");
    out.push("");
    out.push(
      table(
        ["package", "ms", "% of busy"],
        summary.byPackage.map((share) => [share.name, fixed(share.ms, 0), fixed(share.pct, 1)]),
      ),
    );
    out.push("");
    out.push("Top functions by self time:");
    out.push("");
    out.push(
      table(
        ["function", "ms", "% of busy"],
        summary.topFunctions.map((share) => [`\`${share.name}\``, fixed(share.ms, 0), fixed(share.pct, 1)]),
      ),
    );
    out.push("");
    out.push("Where the heaviest functions are called from (nearest frames outside Node's internals):");
    out.push("");
    for (const entry of summary.callers) {
      const from = entry.from.map((share) => `${share.name} (${fixed(share.pct, 1)} %)`).join("; ");
      out.push(`- \`${entry.function}\`: ${from}`);
    }
    out.push("");
  }

  if (report.memory) {
    const { idleRssMb, soak } = report.memory;
    out.push("## Memory");
    out.push("");
    const peakOf = (server: string) => {
      const mine = report.cells.filter((cell) => report.rows.find((row) => row.id === cell.row)?.server === server);
      return mine.length === 0 ? undefined : Math.max(...mine.map((cell) => cell.peakRssMb));
    };
    out.push(
      table(
        ["server", "idle RSS MiB", "peak RSS MiB under load (largest cell median)"],
        Object.entries(idleRssMb).map(([server, idle]) => {
          const peak = peakOf(server);
          return [server, fixed(idle, 0), peak === undefined ? "–" : fixed(peak, 0)];
        }),
      ),
    );
    out.push("");
    if (soak) {
      const first = soak.samples.find(([at]) => at >= 60) ?? soak.samples[0];
      const last = soak.samples.at(-1);
      const max = Math.max(...soak.samples.map(([, rss]) => rss));
      out.push(
        `Soak: ${soak.workload} at ${soak.rate} req/s (open loop) for ${(soak.seconds / 60).toFixed(1)} min against the service: ` +
          `${soak.responses} responses, ${soak.errors} errors, p99 ${soak.p99Ms.toFixed(1)} ms. ` +
          (first && last
            ? `RSS ${fixed(first[1], 0)} MiB at ${first[0]} s, ${fixed(last[1], 0)} MiB at the end (${last[0]} s), at most ${fixed(max, 0)} MiB: ` +
              `${last[1] - first[1] >= 0 ? "+" : ""}${fixed(last[1] - first[1], 1)} MiB ${first[0] >= 60 ? "after the first minute" : "over the run"}.`
            : ""),
      );
      out.push("");
      out.push(
        table(
          ["s", "RSS MiB"],
          soak.samples.map(([at, rss]) => [String(at), fixed(rss, 1)]),
        ),
      );
      out.push("");
    }
  }

  out.push("## How it was measured");
  out.push("");
  for (const note of report.notes) out.push(`- ${note}`);
  out.push(`- Peer: ${report.peer.note}`);
  out.push("");
  return out.join("\n");
}
