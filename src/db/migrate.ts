import type { Logger } from "../logger.js";
import type { Database } from "./database.js";
import { isDatabaseUnavailable } from "./errors.js";

/**
 * Applies pending migrations, waiting for the database if it is not there
 * yet, so that a process started before its database stays up (and not
 * ready) rather than crash-looping. Resolves true once migrated, false if
 * `stopping` turned true first; a migration that fails for another reason
 * rejects, and the caller decides what that means for the process.
 */
export async function migrateWhenReachable(db: Database, logger: Logger, stopping: () => boolean): Promise<boolean> {
  for (let attempt = 1; !stopping(); attempt++) {
    try {
      const applied = await db.migrate();
      logger.info(
        { applied },
        applied.length === 0 ? "migrations: up to date" : `migrations: applied ${applied.join(", ")}`,
      );
      return true;
    } catch (error) {
      if (stopping()) return false;
      if (!isDatabaseUnavailable(error)) throw error;
      const waitMs = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6));
      logger.warn(
        { err: error, attempt, waitMs },
        "database unreachable: migrations wait for it; not ready until then",
      );
      await new Promise((resolve) => setTimeout(resolve, waitMs).unref());
    }
  }
  return false;
}
