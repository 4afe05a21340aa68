/**
 * npm run db:migration -- <name> [--draft]
 *
 * Writes prisma/migrations/<timestamp>_<name>/migration.sql: the SQL that takes
 * the committed migrations to what prisma/schema.prisma describes, computed by
 * Prisma's schema engine on a throwaway in-memory database. `--draft` writes
 * the migration even when there is no difference, for SQL that the schema
 * language cannot express (CHECK constraints), to be completed by hand.
 */
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { createMigration } from "../db/schema-engine.js";

const args = process.argv.slice(2);
const draft = args.includes("--draft");
const name = args.find((arg) => !arg.startsWith("--"));
if (name === undefined) {
  console.error("Usage: npm run db:migration -- <name> [--draft]");
  process.exit(2);
}

const pglite = await PGlite.create("memory://");
try {
  const created = await createMigration(new PrismaPGlite(pglite), name, { draft });
  console.log(
    created === undefined
      ? "schema.prisma and the migrations agree: nothing to write."
      : `Wrote ${created.directory}/migration.sql`,
  );
} finally {
  await pglite.close();
}
