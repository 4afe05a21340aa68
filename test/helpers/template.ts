import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import type { ProvidedContext } from "vitest";
import { migrationAdapter } from "../../src/db/database.js";
import { applyMigrations } from "../../src/db/schema-engine.js";
import { admin, withDatabase } from "./postgres.js";

export type Template = ProvidedContext["template"];

export async function prepareTemplate(
  testDatabaseUrl: string | undefined,
): Promise<{ template: Template; dispose(): Promise<void> }> {
  if (testDatabaseUrl === undefined || testDatabaseUrl === "") {
    const pglite = await PGlite.create("memory://");
    await applyMigrations(new PrismaPGlite(pglite));
    const dump = await pglite.dumpDataDir("none");
    await pglite.close();
    const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-test-"));
    const dumpPath = path.join(dir, "template.tar");
    await writeFile(dumpPath, Buffer.from(await dump.arrayBuffer()));
    return { template: { kind: "pglite", dumpPath }, dispose: () => rm(dir, { recursive: true, force: true }) };
  }

  const database = `tasks_api_template_${process.pid}`;
  await admin(testDatabaseUrl, async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${database}`);
    await client.query(`CREATE DATABASE ${database}`);
  });
  const url = withDatabase(testDatabaseUrl, database);
  await applyMigrations(migrationAdapter(url));
  return {
    template: { kind: "postgres", url: testDatabaseUrl, database },
    dispose: () =>
      admin(testDatabaseUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }),
  };
}
