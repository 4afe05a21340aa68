import type { TokenVerifier, Viewer } from "./auth/index.js";
import { createTaskLabelLoader } from "./db/labels.js";
import { ensureUser } from "./db/users.js";
import { BadUserInputError, UnauthenticatedError } from "./errors.js";
import type { Label, PrismaClient } from "./generated/prisma/client.js";
import type { ChangeHub } from "./live.js";

/** What every resolver gets. Built in one place, for GraphQL and REST alike. */
export interface Context {
  /** The caller, or null when the request carried no token. */
  viewer: Viewer | null;
  prisma: PrismaClient;
  /** The largest page a connection may return to this caller (REST allows more than GraphQL). */
  maxPageSize: number;
  /** The request's Idempotency-Key header: a create with one happens at most once. */
  idempotencyKey: string | null;
  /** How long an idempotency key is remembered. */
  idempotencyTtlMs: number;
  /** A task's labels, by name; the calls of one page are batched into one query. */
  labelsOf(taskId: string): Promise<Label[]>;
  /** The live feed's bell, and how many streams a user may hold open. */
  live: LiveOptions;
}

export interface LiveOptions {
  hub: ChangeHub;
  maxStreamsPerUser: number;
}

export interface ContextOptions {
  verifier: TokenVerifier;
  prisma: PrismaClient;
  /** Counts each authenticated request against its user's limit (0: no limit). */
  limiter?: { take(key: string, limit: number): Promise<void> };
  perUserLimit?: number;
  idempotencyTtlMs?: number;
  live: LiveOptions;
}

export const graphqlMaxPageSize = 100;

/**
 * Reads the Authorization header, verifies the token and makes sure the
 * caller has a User row. A missing header gives a context without a viewer
 * (fields that need one refuse); a header that is present but wrong is
 * refused here, before any database query.
 */
export function createContextFactory({
  verifier,
  prisma,
  limiter,
  perUserLimit = 0,
  idempotencyTtlMs = 24 * 60 * 60 * 1000,
  live,
}: ContextOptions) {
  return async function createContext(request: Request, maxPageSize = graphqlMaxPageSize): Promise<Context> {
    const idempotencyKey = readIdempotencyKey(request);
    const base = { prisma, maxPageSize, idempotencyKey, idempotencyTtlMs, live };
    const header = request.headers.get("authorization");
    if (header === null) return { ...base, viewer: null, labelsOf: createTaskLabelLoader(prisma, null) };
    const match = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(header);
    if (!match?.[1]) throw new UnauthenticatedError("The Authorization header must be: Bearer <token>.");
    const { viewer, fresh, remember } = await verifier.verify(match[1]);
    // Per user, so that one user's burst cannot use up another's share.
    if (limiter && perUserLimit > 0) await limiter.take(`user:${viewer.id}`, perUserLimit);
    // A token seen before has already made its user; a new one (a new user,
    // or every ~15 minutes when the auth service issues the next token) makes
    // sure the row exists and its email and name are current.
    if (fresh) {
      await ensureUser(prisma, viewer);
      // Only now: a cached token must mean its user row exists. Cached any
      // earlier, a failed upsert (or one still running when the same token
      // comes again) would let later requests skip it and find no row.
      remember();
    }
    return { ...base, viewer, labelsOf: createTaskLabelLoader(prisma, viewer.id) };
  };
}

/** Printable ASCII, 1 to 255 characters (a UUID is the usual choice). */
function readIdempotencyKey(request: Request): string | null {
  const key = request.headers.get("idempotency-key");
  if (key === null) return null;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new BadUserInputError([
      { field: "Idempotency-Key", message: "Must be 1 to 255 printable ASCII characters, such as a UUID." },
    ]);
  }
  return key;
}

export type CreateContext = ReturnType<typeof createContextFactory>;
