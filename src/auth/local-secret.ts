import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Development without an auth service: a random HS256 secret kept in a file
 * under ./.data/ (never committed), made on first use. `npm run token` reads
 * the same file, so its tokens work against the local server.
 */
export async function loadOrCreateLocalSecret(file: string): Promise<{ secret: Uint8Array; created: boolean }> {
  const existing = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  if (existing !== undefined && existing.trim().length >= 32) {
    return { secret: new TextEncoder().encode(existing.trim()), created: false };
  }
  const secret = randomBytes(32).toString("base64url");
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  // The mode above applies to a new file only: a short secret replaced in a
  // file that others could read must not stay readable by them.
  await chmod(file, 0o600);
  return { secret: new TextEncoder().encode(secret), created: true };
}
