import type { Viewer } from "../auth/index.js";
import type { PrismaClient } from "../generated/prisma/client.js";

/**
 * Makes sure the caller has a User row with the email and name of their
 * latest token. Safe under concurrent first requests: one statement,
 * conflict-tolerant, and it writes only when something changed.
 */
export async function ensureUser(prisma: PrismaClient, viewer: Viewer): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO users (id, email, name) VALUES (${viewer.id}, ${viewer.email}, ${viewer.name})
    ON CONFLICT (id) DO UPDATE
      SET email = COALESCE(EXCLUDED.email, users.email),
          name = COALESCE(EXCLUDED.name, users.name),
          updated_at = now()
      WHERE (EXCLUDED.email IS NOT NULL AND users.email IS DISTINCT FROM EXCLUDED.email)
         OR (EXCLUDED.name IS NOT NULL AND users.name IS DISTINCT FROM EXCLUDED.name)`;
}
