import { Redis } from "ioredis";
import pg from "pg";

/**
 * Whether a test that needs an outside service (Redis) may run. Locally a
 * missing service skips the test with a note; in CI (`CI=true`), where every
 * service is started first, a missing one fails the run instead, so that a
 * test can never pass there by not running.
 */
export function serviceAvailable(service: string, reachable: boolean, where: string): boolean {
  if (reachable) return true;
  if (process.env.CI === "true") {
    throw new Error(`${service} is not reachable at ${where}, and CI=true: CI must start it before the tests.`);
  }
  console.info(`${service} is not reachable at ${where}: the tests that need it are skipped (they run in CI).`);
  return false;
}

/** One PING on a new connection: whether a Redis answers there now. */
export async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 1000,
    retryStrategy: () => null,
  });
  probe.on("error", () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === "PONG";
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** One connection: whether a PostgreSQL server accepts `url` now. */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
