import { type App, createApp, type Phase } from "../../src/app.js";
import { setUpAuth } from "../../src/auth/index.js";
import { type Config, loadConfig } from "../../src/config.js";
import { type Database, openDatabase } from "../../src/db/database.js";
import { createLogger } from "../../src/logger.js";
import { trackInFlight } from "../../src/server.js";
import { createTestDatabase, openOptions, type TestDatabase } from "./database.js";
import { testSecret } from "./tokens.js";

export { testSecret } from "./tokens.js";

export interface TestApp {
  app: App;
  config: Config;
  db: Database;
  database: TestDatabase;
  /** Every SQL statement Prisma sent, in order; clear it with `queries.length = 0`. */
  queries: string[];
  /** From now on the app is shutting down, as on SIGTERM: /readyz says 503. */
  drain(): void;
  /** Calls the app like an HTTP client would: `request("/healthz")`. */
  request(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * The whole service on a fresh database, without a port: requests go through
 * the same fetch handler the HTTP server uses.
 */
export async function startTestApp(env: Record<string, string> = {}, existing?: TestDatabase): Promise<TestApp> {
  const database = existing ?? (await createTestDatabase());
  const config: Config = {
    // Rate limits are off unless a test turns them on: suites make thousands of requests from one "address".
    ...loadConfig({
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      AUTH_SECRET: testSecret,
      RATE_LIMIT_IP: "0",
      RATE_LIMIT_USER: "0",
      ...env,
    }),
    database: database.config,
  };
  const queries: string[] = [];
  const db = await openDatabase(database.config, openOptions(database, { onQuery: (sql) => queries.push(sql) }));
  const { verifier, devTokens } = await setUpAuth(config.auth);
  let phase: Phase = "serving";
  const app = await createApp({
    config,
    db,
    logger: createLogger(config),
    verifier,
    ...(devTokens ? { devTokens } : {}),
    phase: () => phase,
  });
  const handlers = trackInFlight(app);
  return {
    app,
    config,
    db,
    database,
    queries,
    drain: () => {
      phase = "draining";
    },
    request: (path, init) => handlers.fetch(new Request(new URL(path, "http://tasks.test"), init)),
    async close() {
      // As the server does: handlers still running finish before the database closes.
      await handlers.settled();
      await app.close();
      await db.close();
      if (!existing) await database.drop();
    },
  };
}
