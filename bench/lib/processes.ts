import { type ChildProcess, fork, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import type { FromWorker, LoadJob, LoadResult, ToWorker } from "./load-protocol.js";
import type { Fixtures } from "./workloads.js";

/** A port on loopback that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = address !== null && typeof address === "object" ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface ServerProcess {
  name: string;
  pid: number;
  port: number;
  baseUrl: string;
  logFile: string;
  /** SIGTERM, then SIGKILL if it has not exited within the grace time. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited(): boolean;
}

export interface StartOptions {
  name: string;
  cwd: string;
  /** Arguments after `node`, e.g. ["--import", "tsx", "src/main.ts"]. */
  args: string[];
  env: Record<string, string>;
  port: number;
  /** Polled until it answers 200. */
  readyPath: string;
  logDir: string;
  readyTimeoutMs?: number;
}

/** The environment a child gets: only what it needs, never the benchmark's own variables. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG"]) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...extra };
}

export async function startServer(options: StartOptions): Promise<ServerProcess> {
  const logFile = path.join(options.logDir, `${options.name}.log`);
  const log = createWriteStream(logFile, { flags: "a" });
  const child: ChildProcess = spawn(process.execPath, options.args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exitCode: number | null | undefined;
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal === null ? null : 128);
      resolve(exitCode);
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${options.name} did not start`);
  const baseUrl = `http://127.0.0.1:${options.port}`;

  const server: ServerProcess = {
    name: options.name,
    pid,
    port: options.port,
    baseUrl,
    logFile,
    exited: () => exitCode !== undefined,
    async stop(graceMs = 20_000) {
      if (exitCode !== undefined) return exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exit;
      clearTimeout(timer);
      return code;
    },
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 120_000);
  for (;;) {
    if (exitCode !== undefined)
      throw new Error(`${options.name} exited (${exitCode}) before it was ready; see ${logFile}`);
    try {
      const response = await fetch(`${baseUrl}${options.readyPath}`, { signal: AbortSignal.timeout(2000) });
      await response.arrayBuffer();
      if (response.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await server.stop(2000);
      throw new Error(`${options.name} was not ready within ${options.readyTimeoutMs ?? 120_000} ms; see ${logFile}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The load generator process and a promise-based way to give it jobs. */
export interface LoadGenerator {
  pid: number;
  run(job: LoadJob): Promise<LoadResult>;
  close(): Promise<void>;
}

export async function startLoadGenerator(cwd: string, fixtures: Fixtures): Promise<LoadGenerator> {
  const child = fork(path.join(cwd, "bench/load-worker.ts"), [], {
    cwd,
    execArgv: ["--import", "tsx"],
    env: childEnv({ NODE_ENV: "production" }),
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error("The load generator did not start.");
  let nextId = 1;
  const waiting = new Map<number, { resolve: (result: LoadResult) => void; reject: (error: Error) => void }>();
  let ready: (() => void) | undefined;
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.on("message", (message: FromWorker) => {
    if (message.type === "ready") {
      ready?.();
      return;
    }
    const pending = waiting.get(message.id);
    if (!pending) return;
    waiting.delete(message.id);
    if (message.type === "result") pending.resolve(message.result);
    else pending.reject(new Error(`load generator: ${message.message}`));
  });
  child.on("exit", (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`The load generator exited (${code}).`));
    waiting.clear();
  });
  const send = (message: ToWorker) => child.send(message);
  send({ type: "init", fixtures });
  await isReady;
  return {
    pid,
    run(job) {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        send({ type: "run", id, job });
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      send({ type: "exit" });
      await exited;
    },
  };
}
