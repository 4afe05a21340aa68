import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type pg from "pg";
import { inject } from "vitest";
import type { DatabaseConfig } from "../../src/config.js";
import type { OpenOptions } from "../../src/db/database.js";
import { admin, withDatabase } from "./postgres.js";

export interface TestDatabase {
  config: DatabaseConfig;
  /** For PGlite: the open in-memory database, to hand to openDatabase. */
  pglite?: PGlite;
  /** A plain PostgreSQL URL for this database (PostgreSQL runs only). */
  url?: string;
  drop(): Promise<void>;
}

export const usingPostgres = inject("template").kind === "postgres";

/** Runs `run` with a plain client of its own on this test database (PostgreSQL runs only), closed afterwards. */
export function withClient<T>(db: TestDatabase, run: (client: pg.Client) => Promise<T>): Promise<T> {
  if (db.url === undefined) throw new Error("Only a PostgreSQL test database has a URL.");
  return admin(db.url, run);
}

/** A fresh, migrated database for one test file: a copy of the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = inject("template");
  if (template.kind === "pglite") {
    const dump = new Blob([await readFile(template.dumpPath)]);
    const pglite = await PGlite.create({ loadDataDir: dump });
    return {
      config: { kind: "pglite", dataDir: "memory://" },
      pglite,
      drop: () => pglite.close(),
    };
  }

  const database = `tasks_api_test_${randomUUID().replaceAll("-", "").slice(0, 12)}`;
  await admin(template.url, async (client) => {
    // Two copies of one template at the same moment collide ("being accessed
    // by other users"); the copy is fast, so wait and try again.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${database} TEMPLATE ${template.database}`);
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== "55006" || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      }
    }
  });
  const url = withDatabase(template.url, database);
  return {
    config: {
      kind: "postgres",
      url,
      poolMax: 10,
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 10_000,
      statementTimeoutMs: 10_000,
    },
    url,
    drop: () =>
      admin(template.url, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      }),
  };
}

export function openOptions(db: TestDatabase, extra: OpenOptions = {}): OpenOptions {
  return db.pglite ? { ...extra, pglite: db.pglite } : extra;
}
