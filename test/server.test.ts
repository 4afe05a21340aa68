import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "./helpers/database.js";
import { killAllServers, startServer } from "./helpers/server.js";

/** The real process: `npm start`'s entry point, on a real port. */
describe("the server process", () => {
  let dataDir: string;
  let database: TestDatabase | undefined;
  let env: Record<string, string>;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "tasks-api-server-"));
    const candidate = await createTestDatabase();
    if (candidate.url === undefined) {
      await candidate.drop();
      // A file-backed embedded database, as `npm start` uses, in a scratch folder.
      env = { PGLITE_DATA_DIR: path.join(dataDir, "pglite") };
    } else {
      database = candidate;
      env = { DATABASE_URL: candidate.url };
    }
  });
  afterAll(async () => {
    killAllServers();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("starts, is ready, and on SIGTERM stops accepting, closes the database and exits 0", async () => {
    const server = await startServer(env);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready" });
    // One line per request, with what an operator needs.
    const line = await server.waitForLog((entry) => entry.path === "/readyz");
    expect(line).toMatchObject({ method: "GET", status: 200, level: 30 });
    expect(line.ms).toEqual(expect.any(Number));
    expect(line.requestId).toEqual(expect.any(String));

    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.logs.map((entry) => entry.msg)).toContain("stopped");
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });

  it("a second start finds the migrations applied and its data still there", async () => {
    const server = await startServer(env);
    try {
      const migrations = server.logs.find((entry) => String(entry.msg).startsWith("migrations:"));
      expect(migrations?.msg).toBe("migrations: up to date");
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    } finally {
      expect(await server.stop("SIGINT")).toBe(0);
    }
  });

  it("refuses to start with a wrong setting, naming it", async () => {
    await expect(startServer({ ...env, PORT: "not-a-port" })).rejects.toThrow(/PORT="not-a-port"/);
  });
});
