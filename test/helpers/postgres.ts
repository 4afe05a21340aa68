import pg from "pg";

/**
 * Plain PostgreSQL plumbing, shared by the test databases and the bench's
 * scratch ones: no PGlite, no Prisma.
 */

/** `url` with its database replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Runs `run` with a client connected to `url`, closed afterwards whatever happens. */
export async function admin<T>(url: string, run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}
