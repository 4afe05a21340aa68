import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../src/db/database.js";
import {
  applyMigrations,
  createMigration,
  diffMigrationsToSchema,
  migrationsDir,
  readMigrations,
} from "../src/db/schema-engine.js";
import { usingPostgres } from "./helpers/database.js";
import { admin, withDatabase } from "./helpers/postgres.js";

/**
 * An empty database of the kind this run uses (in-memory PGlite, or a new
 * PostgreSQL database), with a migration adapter for it.
 */
async function emptyDatabase() {
  if (!usingPostgres) {
    const pglite = await PGlite.create("memory://");
    return {
      config: { kind: "pglite" as const, dataDir: "memory://" },
      pglite,
      query: async <T>(sql: string) => (await pglite.query<T>(sql)).rows,
      drop: () => pglite.close(),
    };
  }
  const base = process.env.TEST_DATABASE_URL ?? "";
  const name = `tasks_api_empty_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
  await admin(base, async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
  });
  const url = withDatabase(base, name);
  return {
    config: {
      kind: "postgres" as const,
      url,
      poolMax: 2,
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 1_000,
      statementTimeoutMs: 10_000,
    },
    pglite: undefined,
    query: <T>(sql: string) => admin(url, async (client) => (await client.query(sql)).rows as T[]),
    drop: () =>
      admin(base, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}

/** The shape of the public schema, one line per column, index and constraint. */
const catalogQuery = `
  SELECT item FROM (
    SELECT format('column %s.%s %s %s %s', table_name, column_name, data_type,
                  coalesce(character_maximum_length::text, ''), is_nullable) AS item
    FROM information_schema.columns WHERE table_schema = 'public' AND table_name IN ('users', 'tasks')
    UNION ALL
    SELECT format('index %s.%s', tablename, indexname) || ' ' || regexp_replace(indexdef, '^.* USING ', '')
    FROM pg_indexes WHERE schemaname = 'public' AND tablename IN ('users', 'tasks')
    UNION ALL
    SELECT format('constraint %s.%s', conrelid::regclass, conname)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  ) AS shape ORDER BY item`;

describe("migrations", () => {
  let db: Awaited<ReturnType<typeof emptyDatabase>>;
  let committed: string[];
  beforeAll(async () => {
    db = await emptyDatabase();
    committed = (await readdir(migrationsDir, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
  });
  afterAll(() => db.drop());

  it("are in Prisma's folder format with a lock file", async () => {
    expect(committed.length).toBeGreaterThan(0);
    for (const name of committed) expect(name).toMatch(/^\d{14}_[a-z0-9_]+$/);
    expect(await readFile(path.join(migrationsDir, "migration_lock.toml"), "utf8")).toContain(
      'provider = "postgresql"',
    );
  });

  it("an empty database is not ready until migrated; then every migration is recorded as migrate deploy does", async () => {
    const database = await openDatabase(db.config, db.pglite ? { pglite: db.pglite } : {});
    try {
      expect(await database.readiness()).toEqual({ database: "ok", migrations: "pending" });
      expect(await database.migrate()).toEqual(committed);
      expect(await database.readiness()).toEqual({ database: "ok", migrations: "ok" });
      // Applying again is a no-op.
      expect(await database.migrate()).toEqual([]);
    } finally {
      await database.close();
    }
    const rows = await db.query<{ migration_name: string; checksum: string; applied_steps_count: number }>(
      "SELECT migration_name, checksum, applied_steps_count FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name",
    );
    expect(rows.map((row) => row.migration_name)).toEqual(committed);
    for (const row of rows) {
      expect(row.checksum).toMatch(/^[0-9a-f]{64}$/);
      expect(row.applied_steps_count).toBe(1);
    }
  });

  it("have no drift: the migrations, replayed, give exactly what schema.prisma describes", async () => {
    // The engine replays the migrations on an in-memory shadow database.
    const shadowHost = await PGlite.create("memory://");
    try {
      expect(await diffMigrationsToSchema(new PrismaPGlite(shadowHost))).toBe("");
    } finally {
      await shadowHost.close();
    }
  });

  it("build the same tables, columns, indexes and constraints on this database as on the embedded one", async () => {
    const reference = await PGlite.create("memory://");
    try {
      await applyMigrations(new PrismaPGlite(reference));
      const expected = (await reference.query<{ item: string }>(catalogQuery)).rows.map((row) => row.item);
      const actual = (await db.query<{ item: string }>(catalogQuery)).map((row) => row.item);
      expect(actual).toEqual(expected);
      expect(actual).toContain("constraint tasks.tasks_completed_at_matches");
      expect(actual.some((item) => item.startsWith("index tasks.tasks_user_created_idx "))).toBe(true);
    } finally {
      await reference.close();
    }
  });

  it("a changed schema is detected as drift and written as a new migration", async () => {
    const parent = await mkdtemp(path.join(tmpdir(), "tasks-api-migrations-"));
    // A project's first migration: the folder does not exist yet.
    const dir = path.join(parent, "prisma", "migrations");
    try {
      // With no migrations at all, the whole schema is the difference.
      const pglite = await PGlite.create("memory://");
      try {
        const script = await diffMigrationsToSchema(new PrismaPGlite(pglite), dir);
        expect(script).toContain('CREATE TABLE "tasks"');
        const created = await createMigration(new PrismaPGlite(pglite), "init", { dir });
        expect(created?.name).toMatch(/^\d{14}_init$/);
        expect(await diffMigrationsToSchema(new PrismaPGlite(pglite), dir)).toBe("");
        expect(await createMigration(new PrismaPGlite(pglite), "again", { dir })).toBeUndefined();

        // A draft is written even with nothing to do (for SQL the schema cannot say), and is still no drift.
        const draft = await createMigration(new PrismaPGlite(pglite), "checks", { dir, draft: true });
        if (draft === undefined) throw new Error("a draft migration is always written");
        expect(draft.directory).toBe(path.join(dir, draft.name));
        expect(await readFile(path.join(draft.directory, "migration.sql"), "utf8")).toBe(
          "-- This is an empty migration.\n",
        );
        expect(await diffMigrationsToSchema(new PrismaPGlite(pglite), dir)).toBe("");
        expect(await readFile(path.join(dir, "migration_lock.toml"), "utf8")).toBe(
          await readFile(path.join(migrationsDir, "migration_lock.toml"), "utf8"),
        );
        // A name Prisma's folders cannot hold is refused before anything is written.
        for (const bad of ["Checks", "two words", "", "a-b", "../up"]) {
          await expect(createMigration(new PrismaPGlite(pglite), bad, { dir })).rejects.toThrow(
            `Migration name "${bad}" must use only a-z, 0-9 and _.`,
          );
        }
        expect((await readdir(dir)).sort()).toEqual([created?.name, draft.name, "migration_lock.toml"].sort());
      } finally {
        await pglite.close();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });
});

describe("reading the migrations folder", () => {
  it("lists the migrations in name order with their SQL, and a folder without migration.sql as an error", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-read-migrations-"));
    try {
      // Made out of order: the list is by name (the timestamp first), whatever order the folder gives.
      for (const name of ["20260103000000_c", "20260101000000_a", "20260102000000_b"]) {
        await mkdir(path.join(dir, name));
        await writeFile(path.join(dir, name, "migration.sql"), `-- ${name}\n`);
      }
      await mkdir(path.join(dir, "20260104000000_empty"));
      await writeFile(path.join(dir, "notes.txt"), "not a migration");
      const list = await readMigrations(dir);
      expect(list.baseDir).toBe(dir);
      expect(list.lockfile).toEqual({ path: "migration_lock.toml", content: null });
      expect(list.migrationDirectories.map((entry) => entry.path)).toEqual([
        "20260101000000_a",
        "20260102000000_b",
        "20260103000000_c",
        "20260104000000_empty",
      ]);
      expect(list.migrationDirectories[0]?.migrationFile).toEqual({
        path: "migration.sql",
        content: { tag: "ok", value: "-- 20260101000000_a\n" },
      });
      expect(list.migrationDirectories[3]?.migrationFile.content).toMatchObject({ tag: "error" });
      // A folder that does not exist has no migrations.
      expect((await readMigrations(path.join(dir, "missing"))).migrationDirectories).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(usingPostgres)("a DATABASE_URL naming a database that does not exist", () => {
  const base = process.env.TEST_DATABASE_URL ?? "";
  const config = (url: string) =>
    ({
      kind: "postgres",
      url,
      poolMax: 2,
      connectTimeoutMs: 5_000,
      idleTimeoutMs: 10_000,
      statementTimeoutMs: 10_000,
    }) as const;

  it("is created when the role may, then migrated and ready", async () => {
    const name = `tasks_api_new_${process.pid}_${Math.floor(Math.random() * 1e9)}`;
    const db = await openDatabase(config(withDatabase(base, name)));
    try {
      expect((await db.migrate()).length).toBeGreaterThan(0);
      expect(await db.readiness()).toEqual({ database: "ok", migrations: "ok" });
    } finally {
      await db.close();
      await admin(base, (client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    }
  });

  it("is refused with what to run when the role may not create databases", async () => {
    const role = `tasks_api_nocreate_${process.pid}`;
    const name = `tasks_api_missing_${process.pid}`;
    await admin(base, (client) =>
      client.query(`DROP ROLE IF EXISTS ${role}`).then(() => client.query(`CREATE ROLE ${role} LOGIN NOCREATEDB`)),
    );
    const url = new URL(withDatabase(base, name));
    url.username = role;
    const db = await openDatabase(config(url.toString()));
    try {
      await expect(db.migrate()).rejects.toThrow(
        new RegExp(`"${name}" does not exist .*CREATE DATABASE "${name}" OWNER "${role}"`),
      );
    } finally {
      await db.close();
      await admin(base, (client) => client.query(`DROP ROLE IF EXISTS ${role}`));
    }
  });
});
