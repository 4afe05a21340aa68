import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** Every JSON log line the server printed so far. */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line that matches, waiting for it if need be. */
  waitForLog(match: (entry: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();

/** Kills every server this file started that is still running (for afterAll, whatever a test did). */
export function killAllServers(): void {
  for (const child of running) child.kill("SIGKILL");
  running.clear();
}

/** Starts `src/main.ts` as a real process on a free port and waits until it listens. */
export async function startServer(env: Record<string, string>): Promise<RunningServer> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: root,
    env: { PATH: process.env.PATH ?? "", PORT: "0", HOST: "127.0.0.1", LOG_FORMAT: "json", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`server did not start in 60 s\n${stderr}`));
    }, 60_000);
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening\n${stderr}`)));
    createInterface({ input: child.stdout ?? process.stdin }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        const match = /listening on (http:\/\/\S+)/.exec(String(entry.msg));
        if (match?.[1]) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      } catch {
        // Not a log line: ignore.
      }
    });
  });
  return {
    url,
    child,
    logs,
    async waitForLog(match, timeoutMs = 10_000) {
      for (let waited = 0; waited < timeoutMs; waited += 20) {
        const found = logs.find(match);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`no matching log line within ${timeoutMs} ms`);
    },
    stop: (signal = "SIGTERM") => {
      child.kill(signal);
      return exited;
    },
  };
}

/** Resolves once the server's /readyz says 200 (migrations applied, serving). */
export async function waitReady(server: RunningServer, timeoutMs = 60_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    const response = await fetch(`${server.url}/readyz`).catch(() => undefined);
    if (response?.status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${server.url} not ready within ${timeoutMs} ms`);
}
