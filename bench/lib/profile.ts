import { readFile } from "node:fs/promises";

/** A V8 .cpuprofile, as `node --cpu-prof` writes it (the fields read here). */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function isCpuProfile(value: unknown): value is CpuProfile {
  if (typeof value !== "object" || value === null) return false;
  const profile = value as Partial<CpuProfile>;
  return Array.isArray(profile.nodes) && Array.isArray(profile.samples) && Array.isArray(profile.timeDeltas);
}

export interface Share {
  name: string;
  ms: number;
  /** Of the busy (non-idle) time in the window. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  /** The part of the profile summarised (the measured run), in ms. */
  windowMs: number;
  samples: number;
  busyMs: number;
  idleMs: number;
  topFunctions: Share[];
  byPackage: Share[];
  /** Time with at least one frame of the group on the stack (groups overlap). */
  inclusive: Share[];
  /** For the heaviest self-time functions: where they are called from (the nearest frames outside Node's internals). */
  callers: { function: string; from: Share[] }[];
}

/** Inclusive groups: the parts of a request that the issue's levers are about. */
const groups: { name: string; test: (url: string, fn: string) => boolean }[] = [
  { name: "token verification (src/auth)", test: (url) => url.includes("/src/auth/") },
  { name: "request context (src/context.ts)", test: (url) => url.endsWith("/src/context.ts") },
  { name: "REST layer (src/rest)", test: (url) => url.includes("/src/rest/") },
  { name: "hono + @hono/node-server", test: (url) => /node_modules\/(hono|@hono)\//.test(url) },
  {
    name: "GraphQL execution (graphql-js, @graphql-tools/executor)",
    test: (url) => url.includes("node_modules/graphql/") || url.includes("node_modules/@graphql-tools/executor/"),
  },
  { name: "graphql-yoga / envelop", test: (url) => /node_modules\/(graphql-yoga|@graphql-yoga|@envelop)\//.test(url) },
  { name: "pothos (schema plugins)", test: (url) => url.includes("node_modules/@pothos/") },
  {
    name: "Prisma client + query compiler",
    test: (url) => url.includes("node_modules/@prisma/client/") || url.includes("/src/generated/prisma/"),
  },
  { name: "Prisma pg adapter", test: (url) => url.includes("node_modules/@prisma/adapter-pg/") },
  { name: "pg driver", test: (url) => /node_modules\/(pg|pg-protocol|pg-types|pg-pool|postgres-\w+)\//.test(url) },
  { name: "pino logging", test: (url) => /node_modules\/pino/.test(url) },
  { name: "wasm", test: (url) => url.startsWith("wasm://") },
  { name: "JSON.stringify/parse (builtins)", test: (url, fn) => url === "" && (fn === "stringify" || fn === "parse") },
  { name: "garbage collector", test: (_url, fn) => fn === "(garbage collector)" },
];

/** The service runs compiled (dist/*.js, a file per source file): report its frames by their source files. */
function sourceUrl(url: string, root: string): string {
  const dist = `file://${root}/dist/`;
  return url.startsWith(dist) ? `file://${root}/src/${url.slice(dist.length).replace(/\.js$/, ".ts")}` : url;
}

function packageOf(url: string, functionName: string, root: string): string {
  if (url === "") return functionName.startsWith("(") ? functionName : "(V8 builtins / native)";
  if (url.startsWith("node:")) return "node: internals";
  if (url.startsWith("wasm://")) return "wasm";
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1] ?? ""}` : (rest[0] ?? url);
  }
  const local = url.replace(/^file:\/\//, "").replace(`${root}/`, "");
  const parts = local.split("/");
  return parts.length > 2 ? `${parts[0]}/${parts[1]}` : local;
}

function shortUrl(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, "").replace(`${root}/`, "");
  const modules = path.lastIndexOf("node_modules/");
  return modules >= 0 ? path.slice(modules + "node_modules/".length) : path;
}

function top(map: Map<string, number>, busyMs: number, count: number): Share[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => ({ name, ms: round(ms), pct: round((ms / busyMs) * 100) }));
}

const round = (value: number) => Math.round(value * 100) / 100;

/**
 * Self and inclusive time from a .cpuprofile, for samples between `fromUs`
 * and `toUs` (the same monotonic clock as process.hrtime, in microseconds),
 * so that start-up and shutdown do not count. Each sample weighs the time
 * until the next one.
 */
export async function summarizeProfile(
  file: string,
  root: string,
  window?: { fromUs: number; toUs: number },
): Promise<ProfileSummary> {
  const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
  if (!isCpuProfile(parsed)) throw new Error(`${file} is not a CPU profile`);
  for (const node of parsed.nodes) node.callFrame.url = sourceUrl(node.callFrame.url, root);
  const byId = new Map(parsed.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of parsed.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const callers = new Map<string, Map<string, number>>();
  let idle = 0;
  let busy = 0;
  let counted = 0;
  let time = parsed.startTime;
  const from = window?.fromUs ?? Number.NEGATIVE_INFINITY;
  const to = window?.toUs ?? Number.POSITIVE_INFINITY;

  for (let i = 0; i < parsed.samples.length; i++) {
    time += parsed.timeDeltas[i] ?? 0;
    if (time < from || time > to) continue;
    const weight = (parsed.timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(parsed.samples[i] ?? -1);
    if (!node) continue;
    counted += 1;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idle += weight;
      continue;
    }
    busy += weight;
    // Line and column in the code as loaded (tsx's output for .ts files), 1-based.
    const name = `${functionName || "(anonymous)"}${url ? ` ${shortUrl(url, root)}:${lineNumber + 1}:${columnNumber + 1}` : ""}`;
    self.set(name, (self.get(name) ?? 0) + weight);
    const pkg = packageOf(url, functionName, root);
    packages.set(pkg, (packages.get(pkg) ?? 0) + weight);

    const chain: string[] = [];
    for (let id = parent.get(node.id); id !== undefined && chain.length < 3; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.url === "" || frame.url.startsWith("node:")) continue;
      chain.push(`${frame.functionName || "(anonymous)"} (${packageOf(frame.url, frame.functionName, root)})`);
    }
    const caller = chain.join(" ← ") || "(top level)";
    const callersOfName = callers.get(name) ?? new Map<string, number>();
    callersOfName.set(caller, (callersOfName.get(caller) ?? 0) + weight);
    callers.set(name, callersOfName);

    const hit = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame) break;
      for (const group of groups) if (group.test(frame.url, frame.functionName)) hit.add(group.name);
    }
    for (const group of hit) inclusive.set(group, (inclusive.get(group) ?? 0) + weight);
  }

  const topFunctions = top(self, busy, 25);
  return {
    file,
    windowMs: round(Math.min(to, parsed.endTime) / 1000 - Math.max(from, parsed.startTime) / 1000),
    samples: counted,
    busyMs: round(busy),
    idleMs: round(idle),
    topFunctions,
    byPackage: top(packages, busy, 15),
    inclusive: top(inclusive, busy, groups.length),
    callers: topFunctions
      .filter((share) => !share.name.startsWith("("))
      .slice(0, 6)
      .map((share) => ({ function: share.name, from: top(callers.get(share.name) ?? new Map(), busy, 3) })),
  };
}
