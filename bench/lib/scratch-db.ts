import { migrationAdapter } from "../../src/db/database.js";
import { applyMigrations } from "../../src/db/schema-engine.js";
import { admin, withDatabase } from "../../test/helpers/postgres.js";
import { type DataSummary, describeSql, groupIds, sampleIdsSql, seedStatements } from "./seed.js";

/** A database created for one benchmark run next to the given server's admin database, and dropped after. */
export interface ScratchDatabase {
  name: string;
  url: string;
  /** The role PostGraphile switches to (row-level security applies to it), made for this run. */
  peerRole: string;
  drop(): Promise<void>;
}

export async function createScratch(adminUrl: string): Promise<ScratchDatabase> {
  const name = `tasks_bench_${process.pid}`;
  const peerRole = `tasks_bench_peer_${process.pid}`;
  await admin(adminUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  let dropped = false;
  return {
    name,
    url: withDatabase(adminUrl, name),
    peerRole,
    async drop() {
      if (dropped) return;
      dropped = true;
      await admin(adminUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.query(`DROP ROLE IF EXISTS ${peerRole}`);
      });
    },
  };
}

/** The committed migrations, applied by Prisma's schema engine as the service does at start. */
export async function migrate(url: string): Promise<string[]> {
  return applyMigrations(migrationAdapter(url));
}

export interface Seeded {
  summary: DataSummary;
  /** Per user, 100 of their task ids. */
  taskIds: Record<string, string[]>;
  seconds: number;
}

export async function seed(exec: (sql: string) => Promise<{ rows: unknown[] }>): Promise<Seeded> {
  const started = performance.now();
  for (const statement of seedStatements) await exec(statement);
  const seconds = (performance.now() - started) / 1000;
  const ids = (await exec(sampleIdsSql(100))).rows as { user_id: string; id: string }[];
  const [summary] = (await exec(describeSql)).rows as DataSummary[];
  if (!summary) throw new Error("The seeded data could not be described.");
  return { summary, taskIds: groupIds(ids), seconds };
}

export async function seedPostgres(url: string): Promise<Seeded> {
  return admin(url, (client) => seed((sql) => client.query(sql)));
}

/**
 * PostGraphile's usual multi-tenant setup: a role without BYPASSRLS and a
 * policy that keeps each caller to their own rows, from the `jwt.claims.sub`
 * setting the server puts in every transaction. The service connects as the
 * table owner, which row-level security does not apply to.
 */
export async function preparePeer(url: string, role: string): Promise<void> {
  await admin(url, async (client) => {
    await client.query(`CREATE ROLE ${role} NOLOGIN`);
    await client.query(`GRANT USAGE ON SCHEMA public TO ${role}`);
    await client.query(`GRANT SELECT ON tasks TO ${role}`);
    await client.query("ALTER TABLE tasks ENABLE ROW LEVEL SECURITY");
    await client.query(
      `CREATE POLICY tasks_owner ON tasks FOR SELECT TO ${role}
       USING (user_id = current_setting('jwt.claims.sub', true))`,
    );
  });
}

export async function serverVersion(url: string): Promise<string> {
  return admin(url, async (client) => {
    const { rows } = await client.query<{ server_version: string }>("SHOW server_version");
    return rows[0]?.server_version ?? "unknown";
  });
}
