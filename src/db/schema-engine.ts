import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  bindMigrationAwareSqlAdapterFactory,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import type { MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm";

/**
 * Prisma's schema engine, compiled to WebAssembly, driven through a driver
 * adapter. This is what `prisma migrate deploy` and `prisma migrate diff` do,
 * without the native engine binary the CLI would download.
 */

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const schemaPath = path.join(projectRoot, "prisma/schema.prisma");
export const migrationsDir = path.join(projectRoot, "prisma/migrations");

const noFilter: SchemaFilter = { externalTables: [], externalEnums: [] };

// Node has WebAssembly, but @types/node does not describe it (lib.dom does).
declare const WebAssembly: {
  instantiate(
    bytes: Uint8Array,
    imports: Record<string, object>,
  ): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

type EngineModule = typeof import("@prisma/schema-engine-wasm/schema_engine_bg");
let engineModule: Promise<EngineModule> | undefined;

/**
 * Node 20 cannot `import` a .wasm file without a flag, so the wasm-bindgen glue
 * is loaded as JavaScript and the module instantiated by hand, once.
 */
function loadEngineModule(): Promise<EngineModule> {
  engineModule ??= (async () => {
    const glue: EngineModule = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    // The .wasm file sits next to the glue but is not in the package's exports.
    const gluePath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const wasmPath = path.join(path.dirname(gluePath), "schema_engine_bg.wasm");
    const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
      "./schema_engine_bg.js": glue,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue;
  })();
  return engineModule;
}

async function withEngine<T>(
  factory: SqlMigrationAwareDriverAdapterFactory,
  run: (engine: SchemaEngine, schema: string) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadEngineModule();
  const schema = await readFile(schemaPath, "utf8");
  // The engine does not close the connections it opens, and on PostgreSQL
  // one of them holds the migration advisory lock: close them all when done,
  // or the next run waits for that lock.
  const opened: SqlDriverAdapter[] = [];
  const tracked: SqlMigrationAwareDriverAdapterFactory = {
    provider: factory.provider,
    adapterName: factory.adapterName,
    connect: async () => track(await factory.connect()),
    connectToShadowDb: async () => track(await factory.connectToShadowDb()),
  };
  const track = (adapter: SqlDriverAdapter) => {
    opened.push(adapter);
    return adapter;
  };
  const engine = await SchemaEngine.new(
    { datamodels: [[schemaPath, schema]] },
    () => {},
    bindMigrationAwareSqlAdapterFactory(tracked),
  );
  try {
    return await run(engine, schema);
  } finally {
    engine.free();
    await Promise.all(opened.map((adapter) => adapter.dispose()));
  }
}

/** Reads prisma/migrations the way the Prisma CLI does. */
export async function readMigrations(dir = migrationsDir): Promise<MigrationList> {
  const lockPath = "migration_lock.toml";
  const lockContent = await readFile(path.join(dir, lockPath), "utf8").catch(() => null);
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const directories = await Promise.all(
    entries
      .filter((entry) => entry.isDirectory())
      .map(async (entry) => {
        const file = "migration.sql";
        const content = await readFile(path.join(dir, entry.name, file), "utf8").then(
          (value) => ({ tag: "ok" as const, value }),
          (error: Error) => ({ tag: "error" as const, value: error.message }),
        );
        return { path: entry.name, migrationFile: { path: file, content } };
      }),
  );
  directories.sort((a, b) => a.path.localeCompare(b.path));
  return {
    baseDir: dir,
    lockfile: { path: lockPath, content: lockContent },
    shadowDbInitScript: "",
    migrationDirectories: directories,
  };
}

/** Applies pending migrations and records them in `_prisma_migrations`. Returns their names. */
export async function applyMigrations(
  factory: SqlMigrationAwareDriverAdapterFactory,
  dir = migrationsDir,
): Promise<string[]> {
  const migrationsList = await readMigrations(dir);
  return withEngine(factory, async (engine) => {
    const { appliedMigrationNames } = await engine.applyMigrations({ migrationsList, filters: noFilter });
    return appliedMigrationNames;
  });
}

/**
 * The SQL that would take a database holding the committed migrations to the
 * state schema.prisma describes. Replays the migrations on a shadow database
 * obtained from the adapter: use PGlite's (an in-memory database), since the
 * pg adapter cannot read some catalog types the engine introspects. An empty
 * string means no drift.
 */
export async function diffMigrationsToSchema(
  factory: SqlMigrationAwareDriverAdapterFactory,
  dir = migrationsDir,
): Promise<string> {
  const migrationsList = await readMigrations(dir);
  return withEngine(factory, async (engine, schema) => {
    const result = await engine.diff({
      from:
        migrationsList.migrationDirectories.length === 0 ? { tag: "empty" } : { tag: "migrations", ...migrationsList },
      to: { tag: "schemaDatamodel", files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: null,
      filters: noFilter,
    });
    return normalizeScript(result.stdout ?? "");
  });
}

/** The engine says "-- This is an empty migration." when there is nothing to do. */
function normalizeScript(script: string): string {
  const meaningful = script
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("-- This is an empty migration."));
  return meaningful.length === 0 ? "" : script;
}

export interface NewMigration {
  name: string;
  directory: string;
}

/**
 * Writes the migration that takes the committed migrations to schema.prisma,
 * in Prisma's folder format (`<UTC timestamp>_<name>/migration.sql` and
 * `migration_lock.toml`). `draft` writes one even when there is no
 * difference, for SQL the schema language cannot express (CHECK constraints).
 * Returns undefined when there is nothing to write.
 */
export async function createMigration(
  factory: SqlMigrationAwareDriverAdapterFactory,
  name: string,
  { draft = false, dir = migrationsDir }: { draft?: boolean; dir?: string } = {},
): Promise<NewMigration | undefined> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new Error(`Migration name "${name}" must use only a-z, 0-9 and _.`);
  }
  const script = await diffMigrationsToSchema(factory, dir);
  if (script === "" && !draft) return undefined;
  const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
  const migrationName = `${stamp}_${name}`;
  const directory = path.join(dir, migrationName);
  await mkdir(directory, { recursive: true });
  await writeFile(path.join(directory, "migration.sql"), script === "" ? "-- This is an empty migration.\n" : script);
  await writeFile(
    path.join(dir, "migration_lock.toml"),
    '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
  );
  return { name: migrationName, directory };
}
