/**
 * npm run bench
 *
 * The load benchmark of issue 6: the service against baselines on the same
 * data and SQL, and against PostGraphile v5, on this machine.
 *
 *   1. Creates a scratch database next to BENCH_DATABASE_URL (default
 *      postgres://postgres@127.0.0.1:5432/postgres), applies the migrations
 *      and seeds 100 users x 1000 tasks; mints 100 real HS256 tokens.
 *   2. Starts the service as `npm start` does (`node dist/main.js` after the
 *      build; `node --import tsx src/main.ts` for a checkout from before the
 *      build step), in production mode with rate limits off; the baselines
 *      B0/B2/B3 and PostGraphile (through tsx) as separate processes; and the
 *      load generator (autocannon) as another.
 *   3. For each round (BENCH_REPEAT), each load shape (closed loop at
 *      BENCH_CONCURRENCY connections, open loop at BENCH_RATES req/s) and each
 *      row: a warm-up, then a measured run. Server CPU from /proc/<pid>/stat,
 *      peak RSS from VmHWM (reset per run), database CPU from the postgres
 *      processes. Medians per cell.
 *   4. The embedded PGlite default: the service on a seeded PGlite directory,
 *      W1 at 1 and 10 connections.
 *   5. A statement-count pass through a counting proxy (SQL per request), a
 *      check of every workload's responses, CPU profiles of the service under
 *      W1 at 100 connections, and the cost of a repeated token.
 *   6. Writes bench/results/bench-<date>.json and .md, prints the tables, and
 *      drops the scratch database.
 *
 * BENCH_QUICK=1 is a smoke run (short runs, one round). Other knobs:
 * BENCH_DURATION, BENCH_WARMUP (seconds), BENCH_REPEAT, BENCH_CONCURRENCY
 * (e.g. 1,10,100), BENCH_RATES (e.g. 100,400), BENCH_ROWS (row ids, e.g.
 * w1-rest,b2), BENCH_PEER/BENCH_PGLITE/BENCH_PROFILE (0 to skip),
 * BENCH_COUNT_REQUESTS, BENCH_SERVICE_ENV ("KEY=VALUE KEY=VALUE" added to the
 * service's environment, to measure a lever), BENCH_COMPARE (another checkout
 * of the service, measured interleaved with this one; BENCH_COMPARE_ENV is its
 * extra environment, BENCH_SERVICE_ENV is not applied to it), BENCH_RESULTS_DIR.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { SignJWT } from "jose";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { createTokenVerifier } from "../src/auth/verify.js";
import { applyMigrations } from "../src/db/schema-engine.js";
import { admin } from "../test/helpers/postgres.js";
import type { LoadJob } from "./lib/load-protocol.js";
import { readOptions } from "./lib/options.js";
import { startCountingProxy } from "./lib/pg-proxy.js";
import {
  childEnv,
  freePort,
  type LoadGenerator,
  type ServerProcess,
  startLoadGenerator,
  startServer,
} from "./lib/processes.js";
import {
  cpuBetween,
  cpuModel,
  machineBusyMs,
  peakRssMb,
  postgresCpu,
  resetPeakRss,
  rssMb,
  treeCpu,
} from "./lib/procfs.js";
import { type ProfileSummary, summarizeProfile } from "./lib/profile.js";
import {
  type Cell,
  cellOf,
  type Machine,
  markdown,
  type Report,
  type RowSpec,
  type Run,
  runFrom,
  type Shape,
  type Soak,
  type TargetCheck,
  type TokenCost,
  type WireCount,
} from "./lib/report.js";
import {
  createScratch,
  migrate,
  preparePeer,
  type ScratchDatabase,
  seed,
  seedPostgres,
  serverVersion,
} from "./lib/scratch-db.js";
import { userClaims, users } from "./lib/seed.js";
import { type Fixtures, isExpected, makeWorkload, Requests } from "./lib/workloads.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const options = readOptions(path.join(root, "bench/results"));
const secret = "bench-secret-that-is-at-least-32-bytes-long";
const forgerySecret = "not-the-secret-the-service-knows-about!!";

const log = (line: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

// ---------------------------------------------------------------------------
// What runs.

const allRows: RowSpec[] = [
  { id: "w1-rest", label: "W1 list 50, REST", server: "service", workload: "w1-rest", kind: "service" },
  { id: "w1-graphql", label: "W1 list 50, GraphQL", server: "service", workload: "w1-graphql", kind: "service" },
  {
    id: "w2-rest",
    label: "W2 get by id, REST",
    server: "service",
    workload: "w2-rest",
    kind: "service",
    baseline: "b2-w2",
  },
  {
    id: "w2-graphql",
    label: "W2 get by id, GraphQL",
    server: "service",
    workload: "w2-graphql",
    kind: "service",
    baseline: "b2-w2",
  },
  {
    id: "w3-rest",
    label: "W3 writes (create/update/toggle/delete), REST",
    server: "service",
    workload: "w3-rest",
    kind: "service",
    baseline: "b2-w3",
  },
  { id: "w4-rest", label: "W4 80/20 read/write, REST", server: "service", workload: "w4-rest", kind: "service" },
  { id: "w5-rest", label: "W5 invalid token (401), REST", server: "service", workload: "w5-rest", kind: "service" },
  { id: "b0", label: "B0 node:http hello", server: "b0", workload: "w1-rest", kind: "baseline" },
  { id: "b2", label: "B2 node:http + pg, W1 query", server: "b2", workload: "w1-rest", kind: "baseline" },
  {
    id: "b2-w2",
    label: "B2 node:http + pg, W2 query",
    server: "b2",
    workload: "w2-rest",
    kind: "baseline",
    baseline: "b2-w2",
  },
  {
    id: "b2-w3",
    label: "B2 node:http + pg, W3 writes",
    server: "b2",
    workload: "w3-rest",
    kind: "baseline",
    baseline: "b2-w3",
  },
  { id: "b3", label: "B3 = B2 + HS256 verify", server: "b3", workload: "w1-rest", kind: "baseline" },
  { id: "peer", label: "PostGraphile v5, W1 (GraphQL)", server: "peer", workload: "w1-peer", kind: "peer" },
];

const pgliteRows: RowSpec[] = [
  { id: "pglite-w1-rest", label: "PGlite: W1 list 50, REST", server: "pglite", workload: "w1-rest", kind: "pglite" },
  {
    id: "pglite-w1-graphql",
    label: "PGlite: W1 list 50, GraphQL",
    server: "pglite",
    workload: "w1-graphql",
    kind: "pglite",
  },
];

function shapes(): Shape[] {
  return [
    ...options.concurrency.map(
      (connections): Shape => ({
        id: `c${connections}`,
        mode: "closed",
        connections,
        rate: 0,
        label: `Closed loop, ${connections} connection${connections === 1 ? "" : "s"}`,
      }),
    ),
    ...options.rates.map(
      (rate): Shape => ({
        id: `r${rate}`,
        mode: "open",
        // Connections are opened as needed by the open-loop sender.
        connections: 0,
        rate,
        label: `Open loop, ${rate} req/s (latency from the scheduled send time)`,
      }),
    ),
  ];
}

function serviceEnvExtra(variable = "BENCH_SERVICE_ENV"): Record<string, string> {
  const raw = process.env[variable] ?? "";
  const extra: Record<string, string> = {};
  for (const pair of raw.split(/[\s,]+/).filter(Boolean)) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`${variable}: "${pair}" is not KEY=VALUE`);
    extra[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return extra;
}

function serviceEnv(
  port: number,
  database: { url: string } | { pgliteDir: string },
  extra = serviceEnvExtra(),
): Record<string, string> {
  return childEnv({
    NODE_ENV: "production",
    HOST: "127.0.0.1",
    PORT: String(port),
    // On PostgreSQL, BENCH_PROCESSES workers (1 by default: one process
    // against one process; every baseline and the peer get as many).
    ...("url" in database
      ? { DATABASE_URL: database.url, WEB_CONCURRENCY: String(options.processes) }
      : { PGLITE_DATA_DIR: database.pgliteDir }),
    AUTH_SECRET: secret,
    // The production default.
    LOG_LEVEL: "info",
    RATE_LIMIT_USER: "0",
    RATE_LIMIT_IP: "0",
    SHUTDOWN_DELAY_MS: "0",
    SHUTDOWN_GRACE_MS: "5000",
    GRAPHIQL: "false",
    GRAPHQL_INTROSPECTION: "false",
    ...extra,
  });
}

// ---------------------------------------------------------------------------
// Processes.

interface Context {
  scratch: ScratchDatabase;
  workDir: string;
  servers: Map<string, ServerProcess>;
  load?: LoadGenerator;
}

async function startService(
  context: Context,
  name: string,
  database: { url: string } | { pgliteDir: string },
  nodeFlags: string[] = [],
  cwd = root,
  extraEnv = serviceEnvExtra(),
): Promise<ServerProcess> {
  const port = await freePort();
  const server = await startServer({
    name,
    cwd,
    args: [...nodeFlags, ...serviceEntry(cwd)],
    env: serviceEnv(port, database, extraEnv),
    port,
    readyPath: "/readyz",
    logDir: context.workDir,
  });
  context.servers.set(name, server);
  return server;
}

const built = new Set<string>();

/** How `npm start` runs the checkout at `cwd`: compiled when it has a build step (built once per bench run). */
function serviceEntry(cwd: string): string[] {
  if (!existsSync(path.join(cwd, "tsconfig.build.json"))) return ["--import", "tsx", "src/main.ts"];
  if (!built.has(cwd)) {
    execFileSync("npm", ["run", "--silent", "build"], { cwd, stdio: "inherit" });
    built.add(cwd);
  }
  return ["dist/main.js"];
}

async function startBaseline(context: Context, name: string, mode: "b0" | "b2" | "b3", url: string) {
  const port = await freePort();
  const server = await startServer({
    name,
    cwd: root,
    args: ["--import", "tsx", "bench/servers/baseline.ts"],
    env: childEnv({
      NODE_ENV: "production",
      BASELINE: mode,
      WORKERS: String(options.processes),
      PORT: String(port),
      DATABASE_URL: url,
      AUTH_SECRET: secret,
    }),
    port,
    readyPath: "/healthz",
    logDir: context.workDir,
  });
  context.servers.set(name, server);
  return server;
}

async function startPeer(context: Context, name: string, url: string) {
  const port = await freePort();
  const server = await startServer({
    name,
    cwd: root,
    args: ["--import", "tsx", "bench/servers/postgraphile.ts"],
    env: childEnv({
      NODE_ENV: "production",
      GRAPHILE_ENV: "production",
      WORKERS: String(options.processes),
      PORT: String(port),
      DATABASE_URL: url,
      AUTH_SECRET: secret,
      PEER_ROLE: context.scratch.peerRole,
    }),
    port,
    readyPath: "/healthz",
    logDir: context.workDir,
  });
  context.servers.set(name, server);
  return server;
}

async function stopServer(context: Context, name: string): Promise<number | null> {
  const server = context.servers.get(name);
  if (!server) return null;
  context.servers.delete(name);
  return server.stop();
}

// ---------------------------------------------------------------------------
// Fixtures.

async function mintTokens(): Promise<Pick<Fixtures, "tokens" | "badTokens">> {
  const now = Math.floor(Date.now() / 1000);
  const sign = (user: string, key: string) =>
    new SignJWT({ ...userClaims(user) })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(user)
      .setIssuedAt(now)
      .setExpirationTime(now + 6 * 60 * 60)
      .sign(new TextEncoder().encode(key));
  const tokens: Record<string, string> = {};
  const badTokens: Record<string, string> = {};
  for (const user of users) {
    tokens[user] = await sign(user, secret);
    badTokens[user] = await sign(user, forgerySecret);
  }
  return { tokens, badTokens };
}

// ---------------------------------------------------------------------------
// Measuring.

async function measure(
  context: Context,
  row: RowSpec,
  shape: Shape,
  repeat: number,
  server: ServerProcess,
): Promise<Run> {
  const load = context.load;
  if (!load) throw new Error("no load generator");
  const job = (durationS: number): LoadJob => ({
    baseUrl: server.baseUrl,
    workload: row.workload,
    mode: shape.mode,
    connections: shape.connections,
    rate: shape.rate,
    durationS,
  });
  await load.run(job(options.warmupS));
  resetPeakRss(server.pid);
  const serverBefore = treeCpu(server.pid);
  const dbBefore = postgresCpu();
  const machineBefore = machineBusyMs();
  const runnerBefore = process.cpuUsage();
  const result = await load.run(job(options.durationS));
  const machineCpu = machineBusyMs() - machineBefore;
  const runnerCpu = process.cpuUsage(runnerBefore);
  const serverCpu = cpuBetween(serverBefore, treeCpu(server.pid));
  // All postgres processes, also for PGlite rows: there it should stay near zero, and anything else is "other".
  const dbCpu = cpuBetween(dbBefore, postgresCpu());
  const other = machineCpu - serverCpu - dbCpu - result.loadCpuMs - (runnerCpu.user + runnerCpu.system) / 1000;
  const run = runFrom(
    row.id,
    shape.id,
    repeat,
    result,
    { server: serverCpu, db: row.kind === "pglite" ? 0 : dbCpu, other },
    peakRssMb(server.pid),
  );
  log(
    `${row.id.padEnd(17)} ${shape.id.padEnd(5)} #${repeat}  ${run.rps.toFixed(0).padStart(6)} req/s  ` +
      `p50 ${run.latency.p50.toFixed(1).padStart(6)}  p95 ${run.latency.p95.toFixed(1).padStart(6)}  ` +
      `p99 ${run.latency.p99.toFixed(1).padStart(6)} ms  cpu ${run.serverCpuMsPerReq.toFixed(3)} ms/req  ` +
      `db ${run.dbCpuMsPerReq.toFixed(3)}  rss ${run.peakRssMb.toFixed(0)} MB  other ${run.otherCpuPct.toFixed(0)} %  ` +
      `errors ${run.errors}` +
      (run.example ? `  e.g. ${run.example}` : ""),
  );
  return run;
}

/**
 * The memory soak: W4 (80 % reads, 20 % the write mix) at a steady open-loop
 * rate against the service for BENCH_SOAK seconds, in 30 s stretches, its
 * RSS read after each. Growth after the first minute (warm caches, JIT) is
 * what a leak would show.
 */
async function soakService(context: Context): Promise<Soak> {
  const load = context.load;
  const server = context.servers.get("service");
  if (!load || !server) throw new Error("no load generator or service");
  const stretchS = Math.min(30, options.soakS);
  const samples: [number, number][] = [[0, rssMb(server.pid)]];
  let responses = 0;
  let errors = 0;
  let p99Ms = 0;
  log(`soak: w4-rest at ${options.soakRate} req/s for ${options.soakS} s`);
  for (let at = 0; at < options.soakS; ) {
    const durationS = Math.min(stretchS, options.soakS - at);
    const result = await load.run({
      baseUrl: server.baseUrl,
      workload: "w4-rest",
      mode: "open",
      connections: 100,
      rate: options.soakRate,
      durationS,
    });
    at += durationS;
    responses += result.responses;
    errors += result.unexpected + result.failures;
    p99Ms = Math.max(p99Ms, result.latency.p99);
    const rss = rssMb(server.pid);
    samples.push([Math.round(at), rss]);
    log(
      `soak ${String(Math.round(at)).padStart(4)} s  rss ${rss.toFixed(1)} MiB  p99 ${result.latency.p99.toFixed(1)} ms`,
    );
  }
  return { workload: "w4-rest", rate: options.soakRate, seconds: options.soakS, samples, responses, errors, p99Ms };
}

async function matrix(context: Context, rows: RowSpec[], shapeList: Shape[], repeat: number): Promise<Run[]> {
  const runs: Run[] = [];
  for (let round = 1; round <= repeat; round++) {
    // Interleaved: every row at one load shape, then the next shape; the row order rotates each round.
    const offset = (round - 1) % rows.length;
    const order = [...rows.slice(offset), ...rows.slice(0, offset)];
    for (const shape of shapeList) {
      for (const row of order) {
        const server = context.servers.get(row.server);
        if (!server) throw new Error(`no server for ${row.id}`);
        runs.push(await measure(context, row, shape, round, server));
      }
    }
  }
  return runs;
}

/** Every row once at 10 connections for a few seconds: JIT, pools, every token's first request. */
async function warmAll(context: Context, rows: RowSpec[]): Promise<void> {
  const load = context.load;
  if (!load) throw new Error("no load generator");
  for (const row of rows) {
    const server = context.servers.get(row.server);
    if (!server) continue;
    await load.run({
      baseUrl: server.baseUrl,
      workload: row.workload,
      mode: "closed",
      connections: 10,
      rate: 0,
      durationS: Math.max(1, options.warmupS * 2),
    });
  }
}

// ---------------------------------------------------------------------------
// Statement counts.

function routeOf(method: string, requestPath: string): string {
  const route = requestPath
    .replace(/\?.*$/, "")
    .replace(/\/api\/[^/]+\//, "/api/{user}/")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/, "{id}");
  return `${method} ${route}`;
}

async function countStatements(
  baseUrl: string,
  row: RowSpec,
  fixtures: Fixtures,
  owners: ReadonlyMap<string, string>,
  counts: () => { statements: number; roundTrips: number; parses: number },
  validate: boolean,
): Promise<WireCount> {
  const workload = makeWorkload(row.workload, fixtures, owners);
  // First every user's token once (the service makes or refreshes the user row on a token's first request).
  const warm = new Requests(fixtures);
  for (const user of users) {
    const out =
      row.workload === "w5-rest"
        ? warm.invalidToken(user)
        : row.workload === "w1-peer"
          ? warm.listPeer(user)
          : warm.listRest(user);
    await fetch(`${baseUrl}${out.path}`, {
      method: out.method,
      headers: out.headers,
      ...(out.body === undefined ? {} : { body: out.body }),
    }).then((response) => response.arrayBuffer());
  }
  for (let i = 0; i < 20; i++) {
    const out = workload.next();
    const response = await fetch(`${baseUrl}${out.path}`, {
      method: out.method,
      headers: out.headers,
      ...(out.body === undefined ? {} : { body: out.body }),
    });
    out.done?.(response.status, await response.text());
  }

  const before = counts();
  const byRequest = new Map<string, { requests: number; statements: number; roundTrips: number }>();
  let problem: string | undefined;
  for (let i = 0; i < options.countRequests; i++) {
    const out = workload.next();
    const start = counts();
    const response = await fetch(`${baseUrl}${out.path}`, {
      method: out.method,
      headers: out.headers,
      ...(out.body === undefined ? {} : { body: out.body }),
    });
    const body = await response.text();
    // Statements of this request have all been sent once its response is complete (nothing runs after).
    const end = counts();
    out.done?.(response.status, body);
    if (!isExpected(out, response.status, body)) {
      problem ??= `${out.method} ${out.path} -> ${response.status} ${body.slice(0, 200)}`;
    } else if (validate) {
      problem ??= out.validate?.(body);
    }
    const key = routeOf(out.method, out.path);
    const entry = byRequest.get(key) ?? { requests: 0, statements: 0, roundTrips: 0 };
    entry.requests += 1;
    entry.statements += end.statements - start.statements;
    entry.roundTrips += end.roundTrips - start.roundTrips;
    byRequest.set(key, entry);
  }
  const after = counts();
  return {
    row: row.id,
    requests: options.countRequests,
    statements: after.statements - before.statements,
    roundTrips: after.roundTrips - before.roundTrips,
    parses: after.parses - before.parses,
    ...(problem === undefined ? {} : { problem }),
    byRequest: [...byRequest.entries()].map(([request, entry]) => ({ request, ...entry })),
  };
}

async function countPass(
  context: Context,
  rows: RowSpec[],
  fixtures: Fixtures,
  owners: ReadonlyMap<string, string>,
): Promise<WireCount[]> {
  const target = new URL(context.scratch.url);
  const proxy = await startCountingProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const viaProxy = new URL(context.scratch.url);
  viaProxy.hostname = "127.0.0.1";
  viaProxy.port = String(proxy.port);
  const url = viaProxy.toString();
  const results: WireCount[] = [];
  try {
    const needed = new Set(rows.map((row) => row.server));
    if (needed.has("service")) await startService(context, "count-service", { url });
    if (needed.has("b0")) await startBaseline(context, "count-b0", "b0", url);
    if (needed.has("b2")) await startBaseline(context, "count-b2", "b2", url);
    if (needed.has("b3")) await startBaseline(context, "count-b3", "b3", url);
    if (needed.has("peer")) await startPeer(context, "count-peer", url);
    for (const row of rows) {
      const server = context.servers.get(`count-${row.server}`);
      if (!server) continue;
      const count = await countStatements(server.baseUrl, row, fixtures, owners, proxy.counts, row.id !== "b0");
      results.push(count);
      log(
        `count ${row.id.padEnd(12)} ${(count.statements / count.requests).toFixed(2)} statements/req, ` +
          `${(count.roundTrips / count.requests).toFixed(2)} round trips/req` +
          (count.problem ? `  CHECK FAILED: ${count.problem}` : "  responses checked"),
      );
    }
  } finally {
    for (const name of ["count-service", "count-b0", "count-b2", "count-b3", "count-peer"])
      await stopServer(context, name);
    await proxy.close();
  }
  return results;
}

// ---------------------------------------------------------------------------
// Profiles and token cost.

async function profileRow(context: Context, row: RowSpec, stamp: string): Promise<ProfileSummary> {
  const load = context.load;
  if (!load) throw new Error("no load generator");
  // Node writes one profile per thread (tsx's module hooks run on their own); keep the main thread's.
  const dir = path.join(context.workDir, `profile-${row.id}`);
  await mkdir(dir, { recursive: true });
  // One process: a cluster's primary only hands out connections, and each worker is the same code under the same load.
  const server = await startService(
    context,
    `profile-${row.id}`,
    { url: context.scratch.url },
    ["--cpu-prof", `--cpu-prof-dir=${dir}`],
    root,
    { ...serviceEnvExtra(), WEB_CONCURRENCY: "1" },
  );
  const job = (durationS: number): LoadJob => ({
    baseUrl: server.baseUrl,
    workload: row.workload,
    mode: "closed",
    connections: 100,
    rate: 0,
    durationS,
  });
  await load.run(job(Math.max(2, options.warmupS * 2)));
  const fromUs = Number(process.hrtime.bigint() / 1000n);
  await load.run(job(options.durationS));
  const toUs = Number(process.hrtime.bigint() / 1000n);
  // Let the requests autocannon left in flight finish before the database pool closes.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await stopServer(context, `profile-${row.id}`);
  const main = (await readdir(dir)).find((file) => file.includes(`.${server.pid}.0.`));
  if (main === undefined) throw new Error(`no main-thread profile of ${row.id} in ${dir}`);
  const file = path.join(options.resultsDir, `${stamp}-${row.id}-c100.cpuprofile`);
  await copyFile(path.join(dir, main), file);
  return summarizeProfile(file, root, { fromUs, toUs });
}

async function tokenCost(): Promise<{ cacheHitUs: number; freshHs256Us: number }> {
  const rules = { clockToleranceSeconds: 5, cacheSize: 10_000 };
  const [user] = users;
  if (user === undefined) throw new Error("no users");
  const { tokens } = await mintTokens();
  const token = tokens[user] ?? "";
  const cached = createTokenVerifier({ kind: "secret", secret, ...rules });
  (await cached.verify(token)).remember();
  const fresh = createTokenVerifier({ kind: "secret", secret, ...rules, cacheSize: 0 });
  const time = async (n: number, run: () => Promise<unknown>) => {
    for (let i = 0; i < Math.min(n, 2000); i++) await run();
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await run();
    return Number(process.hrtime.bigint() - started) / 1000 / n;
  };
  return {
    cacheHitUs: await time(200_000, () => cached.verify(token)),
    freshHs256Us: await time(20_000, () => fresh.verify(token)),
  };
}

// ---------------------------------------------------------------------------
// PGlite.

async function seedPglite(dir: string): Promise<number> {
  const pglite = await PGlite.create(dir);
  try {
    await applyMigrations(new PrismaPGlite(pglite));
    const seeded = await seed((sql) => pglite.query(sql));
    return seeded.seconds;
  } finally {
    await pglite.close();
  }
}

// ---------------------------------------------------------------------------
// Report.

function machine(postgres: string): Machine {
  const git = (args: string[]) => {
    try {
      return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
    } catch {
      return "";
    }
  };
  const commit = git(["rev-parse", "--short", "HEAD"]) || "unknown";
  const dirty = git(["status", "--porcelain"]) !== "";
  const version = (pkg: string) => {
    try {
      const manifest: unknown = JSON.parse(readFileSync(path.join(root, "node_modules", pkg, "package.json"), "utf8"));
      const found = (manifest as { version?: unknown }).version;
      return typeof found === "string" ? found : "unknown";
    } catch {
      return "not installed";
    }
  };
  return {
    cpu: cpuModel(),
    cores: os.cpus().length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    postgres,
    date: new Date().toISOString(),
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
    autocannon: version("autocannon"),
    postgraphile: version("postgraphile"),
  };
}

function targetChecks(cells: Cell[], cost: TokenCost | undefined, peerRan: boolean): TargetCheck[] {
  const cell = (row: string, shape: string) => cells.find((c) => c.row === row && c.shape === shape);
  const checks: TargetCheck[] = [];
  const peer = cell("peer", "c100");
  // The issue's targets: each row against its own bare baseline (the same
  // SQL in node:http + pg), and the lists well ahead of PostGraphile.
  const peerGoal = 1.5;
  for (const [row, label, baselineRow, baselineName, goal] of [
    ["w1-rest", "W1 REST throughput at 100 connections", "b2", "B2", 0.6],
    ["w1-graphql", "W1 GraphQL throughput at 100 connections", "b2", "B2", 0.6],
    ["w2-rest", "W2 REST throughput at 100 connections", "b2-w2", "B2-W2", 0.5],
    ["w2-graphql", "W2 GraphQL throughput at 100 connections", "b2-w2", "B2-W2", 0.5],
    ["w3-rest", "W3 REST throughput at 100 connections", "b2-w3", "B2-W3", 0.5],
  ] as const) {
    const mine = cell(row, "c100");
    if (!mine) continue;
    const base = cell(baselineRow, "c100");
    if (!base) {
      checks.push({ target: label, measured: "no baseline measured", goal: `>= ${goal} × ${baselineName}`, met: null });
      continue;
    }
    const ratio = mine.rps / base.rps;
    checks.push({
      target: label,
      measured: `${mine.rps.toFixed(0)} req/s = ${ratio.toFixed(2)} × ${baselineName} (${base.rps.toFixed(0)})`,
      goal: `>= ${goal} × ${baselineName}`,
      met: ratio >= goal,
      ...(ratio >= goal ? {} : { note: `short by ${((goal - ratio) * base.rps).toFixed(0)} req/s` }),
    });
    if (peerRan && peer && row.startsWith("w1-")) {
      checks.push({
        target: `${label}, ahead of PostGraphile`,
        measured: `${(mine.rps / peer.rps).toFixed(2)} × PostGraphile (${peer.rps.toFixed(0)} req/s)`,
        goal: `>= ${peerGoal} × PostGraphile`,
        met: mine.rps >= peerGoal * peer.rps,
      });
    }
  }
  for (const c of cells.filter((c) => c.shape === "c100" && allRows.find((r) => r.id === c.row)?.kind === "service")) {
    checks.push({
      target: `p95 at 100 connections: ${c.row}`,
      measured: `${c.p95.toFixed(1)} ms`,
      goal: "< 200 ms",
      met: c.p95 < 200,
    });
  }
  for (const c of cells.filter((c) => c.shape === "r100" && allRows.find((r) => r.id === c.row)?.kind === "service")) {
    checks.push({
      target: `p99 at open-loop 100 req/s: ${c.row}`,
      measured: `${c.p99.toFixed(1)} ms`,
      goal: "< 50 ms",
      met: c.p99 < 50,
    });
  }
  if (cost) {
    checks.push({
      target: "A repeated valid token, share of W1 REST CPU",
      measured: `${cost.sharePct.toFixed(2)} % (${cost.cacheHitUs.toFixed(2)} µs of ${cost.w1RestCpuUsPerReq.toFixed(0)} µs)`,
      goal: "< 5 %",
      met: cost.sharePct < 5,
    });
  }
  for (const row of ["pglite-w1-rest", "pglite-w1-graphql"]) {
    const c = cell(row, "c10");
    if (!c) continue;
    checks.push({
      target: `PGlite W1 at 10 connections, p95: ${row}`,
      measured: `${c.p95.toFixed(1)} ms`,
      goal: "< 200 ms",
      met: c.p95 < 200,
    });
  }
  for (const c of cells.filter((c) => c.errors > 0)) {
    checks.push({ target: `errors: ${c.row} at ${c.shape}`, measured: String(c.errors), goal: "0", met: false });
  }
  if (!cells.some((c) => c.errors > 0)) {
    checks.push({ target: "errors (all cells)", measured: "0", goal: "0", met: true });
  }
  return checks;
}

// ---------------------------------------------------------------------------

async function main(): Promise<void> {
  const started = performance.now();
  await mkdir(options.resultsDir, { recursive: true });
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tasks-bench-"));
  const scratch = await createScratch(options.adminUrl);
  const context: Context = { scratch, workDir, servers: new Map() };
  let failed = false;

  const cleanUp = async () => {
    await context.load?.close().catch(() => {});
    for (const name of [...context.servers.keys()]) await stopServer(context, name).catch(() => {});
    await scratch.drop().catch((error: unknown) => console.error(`could not drop ${scratch.name}:`, error));
    if (!failed) await rm(workDir, { recursive: true, force: true });
  };
  const interrupted = () => {
    failed = true;
    log(`interrupted: cleaning up (logs kept in ${workDir})`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupted);
  process.once("SIGTERM", interrupted);

  try {
    log(`scratch database ${scratch.name}; logs in ${workDir}`);
    const applied = await migrate(scratch.url);
    log(`migrations: ${applied.join(", ")}`);
    const seeded = await seedPostgres(scratch.url);
    log(
      `seeded ${seeded.summary.users} users, ${seeded.summary.tasks} tasks (${seeded.summary.completed} completed, ` +
        `${seeded.summary.titles} distinct titles) in ${seeded.seconds.toFixed(1)} s`,
    );
    const owners = await admin(scratch.url, async (client) => {
      const { rows } = await client.query<{ id: string; user_id: string }>("SELECT id::text AS id, user_id FROM tasks");
      return new Map(rows.map((row) => [row.id, row.user_id]));
    });
    const postgres = await serverVersion(scratch.url);

    const selected = (rows: RowSpec[]) =>
      rows.filter(
        (row) => (options.rows.length === 0 || options.rows.includes(row.id)) && (row.kind !== "peer" || options.peer),
      );
    const rows = selected(allRows);
    const compareDir = options.compareDir === undefined ? undefined : path.resolve(options.compareDir);
    if (compareDir !== undefined) {
      // The same service rows against the other checkout, as baselines: they take no part in the targets.
      for (const row of rows.filter((candidate) => candidate.kind === "service")) {
        rows.push({
          ...row,
          id: `${row.id}@compare`,
          label: `${row.label} (${[path.basename(compareDir), process.env.BENCH_COMPARE_ENV?.trim()].filter(Boolean).join(", ")})`,
          server: "compare",
          kind: "baseline",
        });
      }
    }
    let peerNote = "not run (BENCH_PEER=0 or not selected)";
    let peerRan = false;
    if (rows.some((row) => row.kind === "peer")) {
      await preparePeer(scratch.url, scratch.peerRole);
    }

    const fixtures: Fixtures = { users, ...(await mintTokens()), taskIds: seeded.taskIds };
    const needed = new Set(rows.map((row) => row.server));
    if (needed.has("service")) await startService(context, "service", { url: scratch.url });
    if (compareDir !== undefined && needed.has("compare")) {
      await startService(
        context,
        "compare",
        { url: scratch.url },
        [],
        compareDir,
        serviceEnvExtra("BENCH_COMPARE_ENV"),
      );
    }
    if (needed.has("b0")) await startBaseline(context, "b0", "b0", scratch.url);
    if (needed.has("b2")) await startBaseline(context, "b2", "b2", scratch.url);
    if (needed.has("b3")) await startBaseline(context, "b3", "b3", scratch.url);
    if (needed.has("peer")) {
      try {
        await startPeer(context, "peer", scratch.url);
        peerRan = true;
        peerNote =
          "PostGraphile 5 (Amber preset) on the same database, HS256 JWTs verified with jose in grafast.context, " +
          "a role without BYPASSRLS and a row-level security policy on jwt.claims.sub; on Node 20 with a " +
          "Promise.withResolvers polyfill (PostGraphile 5.1 declares node >= 22).";
      } catch (error) {
        peerNote = `could not run: ${error instanceof Error ? error.message : String(error)}`;
        log(`PostGraphile: ${peerNote}`);
      }
    }
    const measuredRows = rows.filter((row) => context.servers.has(row.server));
    context.load = await startLoadGenerator(root, fixtures);
    log(`servers: ${[...context.servers.values()].map((s) => `${s.name} pid ${s.pid} :${s.port}`).join(", ")}`);
    // Before any load: what each server holds at rest.
    const idleRssMb = Object.fromEntries([...context.servers.values()].map((s) => [s.name, rssMb(s.pid)]));

    const shapeList = shapes();
    log(`warm-up of every row`);
    await warmAll(context, measuredRows);
    const runs = await matrix(context, measuredRows, shapeList, options.repeat);
    const soak = options.soakS > 0 && context.servers.has("service") ? await soakService(context) : undefined;

    // The embedded default.
    let pgliteSeedSeconds: number | undefined;
    const pgliteSelected = options.pglite
      ? pgliteRows.filter((row) => options.rows.length === 0 || options.rows.includes(row.id))
      : [];
    if (pgliteSelected.length > 0) {
      const dir = path.join(workDir, "pglite");
      pgliteSeedSeconds = await seedPglite(dir);
      log(`PGlite seeded in ${pgliteSeedSeconds.toFixed(1)} s`);
      await startService(context, "pglite", { pgliteDir: dir });
      await warmAll(context, pgliteSelected);
      const pgliteShapes = shapeList.filter((shape) => shape.id === "c1" || shape.id === "c10");
      const fallback: Shape = {
        id: "c10",
        mode: "closed",
        connections: 10,
        rate: 0,
        label: "Closed loop, 10 connections",
      };
      runs.push(
        ...(await matrix(context, pgliteSelected, pgliteShapes.length > 0 ? pgliteShapes : [fallback], options.repeat)),
      );
      await stopServer(context, "pglite");
    }

    const allMeasured = [...measuredRows, ...pgliteSelected];
    const cells: Cell[] = [];
    const shapeIds = [...new Set(runs.map((run) => run.shape))];
    for (const shape of shapeIds) {
      for (const row of allMeasured) {
        if (runs.some((run) => run.row === row.id && run.shape === shape)) cells.push(cellOf(row.id, shape, runs));
      }
    }

    log("statement-count pass (through a counting proxy)");
    const counts = await countPass(context, measuredRows, fixtures, owners);

    const profiles: { label: string; summary: ProfileSummary }[] = [];
    if (options.profile) {
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      for (const row of measuredRows.filter((r) => r.id === "w1-rest" || r.id === "w1-graphql")) {
        log(`CPU profile of the service: ${row.id} at 100 connections`);
        profiles.push({
          label: `service, ${row.label}, 100 connections`,
          summary: await profileRow(context, row, stamp),
        });
      }
    }

    const w1Rest = cells.find((cell) => cell.row === "w1-rest" && cell.shape === "c100");
    let cost: TokenCost | undefined;
    if (w1Rest) {
      const measured = await tokenCost();
      const restProfile = profiles.find((p) => p.label.includes("REST"))?.summary;
      const authShare = restProfile?.inclusive.find((share) => share.name.startsWith("token verification"))?.pct;
      cost = {
        ...measured,
        w1RestCpuUsPerReq: w1Rest.serverCpuMsPerReq * 1000,
        sharePct: (measured.cacheHitUs / (w1Rest.serverCpuMsPerReq * 1000)) * 100,
        ...(authShare === undefined ? {} : { profileSharePct: authShare }),
      };
    }

    const report: Report = {
      machine: machine(postgres),
      settings: {
        durationS: options.durationS,
        warmupS: options.warmupS,
        repeat: options.repeat,
        quick: options.quick,
        concurrency: options.concurrency,
        rates: options.rates,
        processes: options.processes,
        serviceEnv: Object.fromEntries(
          Object.entries(serviceEnv(0, { url: "postgres://…" })).filter(
            ([key]) => !["PATH", "HOME", "TMPDIR", "LANG", "PORT", "AUTH_SECRET", "DATABASE_URL"].includes(key),
          ),
        ),
        peakRssPerRun: true,
      },
      data: {
        ...seeded.summary,
        seedSeconds: seeded.seconds,
        ...(pgliteSeedSeconds === undefined ? {} : { pgliteSeedSeconds }),
      },
      shapes: [...shapeList],
      rows: allMeasured,
      cells,
      runs,
      counts,
      targets: targetChecks(cells, cost, peerRan),
      ...(cost === undefined ? {} : { tokenCost: cost }),
      profiles,
      memory: { idleRssMb, ...(soak === undefined ? {} : { soak }) },
      notes: [
        "Closed loop: autocannon (separate process), N keep-alive connections, no pipelining; latency per response; percentiles computed from every response.",
        "Open loop: a fixed-rate sender in the same load process (node:http keep-alive agent, connections opened as needed); request i is due at start + i/rate and its latency runs from then (no coordinated omission). autocannon's overallRate was not used: it releases each connection's quota at each second boundary (bursts) and back-fills latencies.",
        "Every request carries a random user's real HS256 token (100 users); W5 a token for that user signed with another secret. Errors: any response other than the expected status (W5: 401; GraphQL: 200 without `errors`), connection errors and timeouts.",
        "CPU ms/req: the server process's utime+stime from /proc/<pid>/stat over the measured run, divided by responses (10 ms ticks). DB CPU: the same for all postgres processes. PGlite runs inside the service process, so its CPU is in the server figure.",
        "Peak RSS: VmHWM of the server process (summed over its descendants, should it fork workers), reset before each measured run (clear_refs 5).",
        "Other CPU: the machine's busy time (/proc/stat) during a run less the server's, the database's, the load generator's and the runner's; kept per run in the JSON (otherCpuPct, % of one core). Runs with more than 15 % are listed at the top: something else was using the machine (a few % is normal: kernel network work, the machine's own agents, 10 ms tick rounding).",
        "SQL/req: a separate pass after the timed runs, through a TCP proxy that counts the frontend protocol messages the server sends (Execute + simple Query = statements; Sync + Query = round trips; Parse), one request at a time, every response checked (owner of every listed task, ids, statuses). pg_stat_statements was not used: it needs shared_preload_libraries and a restart.",
        "B2's SQL is the W1 list query (one user, every task column, ORDER BY created_at DESC, id DESC, LIMIT 51 for the next-page check), answered as JSON.stringify of 50 rows; B2-W2 (the same server) reads one task by owner and id. The REST list reads the user's change head and the count (meta.total) in the page's own statement; the GraphQL W1 query asks for neither. W2 rows' × B2 columns compare with B2-W2. B2-W3 answers the write mix with the service's statements (a create or delete with its change event in one statement; an update or toggle as BEGIN, the write, the event, COMMIT); W3's × B2 columns compare with it.",
        "Profiles: node --cpu-prof on a separate service instance (one process: WEB_CONCURRENCY=1) under W1 at 100 connections; only samples inside the measured window are summarised.",
      ],
      peer: { ran: peerRan, note: peerNote },
    };

    const stamp = report.machine.date.replace(/[:.]/g, "-");
    const base = path.join(options.resultsDir, `bench-${stamp}${options.quick ? "-quick" : ""}`);
    const text = markdown(report);
    await writeFile(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(`${base}.md`, text);
    console.log(`\n${text}`);
    log(
      `wrote ${path.relative(root, base)}.json and .md in ${((performance.now() - started) / 60_000).toFixed(1)} min`,
    );
    if (cells.some((cell) => cell.errors > 0) || counts.some((count) => count.problem !== undefined)) {
      process.exitCode = 1;
      log("some requests failed: see the errors column and the checks");
    }
  } catch (error) {
    failed = true;
    console.error(error);
    for (const server of context.servers.values()) {
      const tail = await readFile(server.logFile, "utf8").catch(() => "");
      if (tail.trim())
        console.error(`--- ${server.name} log (last lines) ---\n${tail.split("\n").slice(-20).join("\n")}`);
    }
    process.exitCode = 1;
  } finally {
    await cleanUp();
  }
}

await main();
