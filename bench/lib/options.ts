/**
 * What `npm run bench` measures and for how long, from the environment.
 * Every knob has a default that reproduces the published table; BENCH_QUICK=1
 * shrinks everything to a smoke run of a couple of minutes.
 */

export interface BenchOptions {
  /** The PostgreSQL server the scratch database is created on (via its admin database). */
  adminUrl: string;
  quick: boolean;
  /** Seconds of each measured run. */
  durationS: number;
  /** Seconds of unmeasured load before each measured run. */
  warmupS: number;
  /** Measured runs per cell; the median is reported. */
  repeat: number;
  /** Closed-loop connection counts. */
  concurrency: number[];
  /** Open-loop arrival rates, requests per second. */
  rates: number[];
  /**
   * Processes per server: the service's WEB_CONCURRENCY, and as many
   * node:cluster workers for each baseline and PostGraphile, so that every
   * row is measured like for like (1: one process against one process).
   */
  processes: number;
  /** Seconds of the memory soak (0: none), and its open-loop rate. */
  soakS: number;
  soakRate: number;
  /** Row ids to run (empty: all). */
  rows: string[];
  peer: boolean;
  pglite: boolean;
  profile: boolean;
  /** Requests per workload in the statement-count pass. */
  countRequests: number;
  /** Where the JSON, Markdown and profiles go. */
  resultsDir: string;
  /**
   * Another checkout of the service (a git worktree with its node_modules),
   * run next to this one: every selected service row is also measured
   * against it, interleaved in the same rounds. How a lever is measured.
   */
  compareDir: string | undefined;
}

function number(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw}: expected a positive number`);
  return value;
}

function list(name: string, fallback: number[]): number[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const values = raw.split(",").map((part) => Number(part.trim()));
  if (values.some((value) => !Number.isInteger(value) || value <= 0)) {
    throw new Error(`${name}=${raw}: expected a comma-separated list of positive whole numbers`);
  }
  return values;
}

function flag(name: string, fallback: boolean): boolean {
  const raw = process.env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  return raw === "1" || raw === "true" || raw === "yes";
}

export function readOptions(resultsDir: string): BenchOptions {
  const quick = flag("BENCH_QUICK", false);
  return {
    adminUrl: process.env.BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
    quick,
    durationS: number("BENCH_DURATION", quick ? 1 : 5),
    warmupS: number("BENCH_WARMUP", quick ? 0.5 : 1),
    repeat: Math.round(number("BENCH_REPEAT", quick ? 1 : 3)),
    concurrency: list("BENCH_CONCURRENCY", [1, 10, 100]),
    rates: list("BENCH_RATES", [100, 400]),
    processes: Math.round(number("BENCH_PROCESSES", 1)),
    soakS: process.env.BENCH_SOAK?.trim() === "0" ? 0 : number("BENCH_SOAK", 0),
    soakRate: number("BENCH_SOAK_RATE", 200),
    rows: (process.env.BENCH_ROWS ?? "")
      .split(",")
      .map((row) => row.trim())
      .filter(Boolean),
    peer: flag("BENCH_PEER", true),
    pglite: flag("BENCH_PGLITE", true),
    profile: flag("BENCH_PROFILE", true),
    countRequests: Math.round(number("BENCH_COUNT_REQUESTS", quick ? 50 : 200)),
    resultsDir: process.env.BENCH_RESULTS_DIR ?? resultsDir,
    compareDir: process.env.BENCH_COMPARE?.trim() || undefined,
  };
}
