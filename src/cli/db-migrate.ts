/**
 * npm run db:migrate
 *
 * Applies pending migrations to the configured database (DATABASE_URL, or the
 * embedded one under PGLITE_DATA_DIR), recording them in `_prisma_migrations`
 * as `prisma migrate deploy` does.
 */
import { loadConfigOrExit } from "../config.js";
import { openDatabase } from "../db/database.js";

const config = loadConfigOrExit();
const db = await openDatabase(config.database);
try {
  const applied = await db.migrate();
  console.log(applied.length === 0 ? "No pending migrations." : `Applied: ${applied.join(", ")}`);
} finally {
  await db.close();
}
