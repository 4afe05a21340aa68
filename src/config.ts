import { z } from "zod";

/**
 * The only reader of process.env. Every variable is validated here, once, at
 * start: a wrong value stops the process with a message that names the
 * variable and says what it expects.
 */

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `a whole number from ${min} to ${max}`)
    .transform(Number)
    .pipe(z.number().min(min, `at least ${min}`).max(max, `at most ${max}`));

const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(["true", "false", "1", "0", "yes", "no"], "one of true, false, 1, 0, yes, no"))
  .transform((value) => value === "true" || value === "1" || value === "yes");

const postgresUrl = z
  .string()
  .trim()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "";
    } catch {
      return false;
    }
  }, "a URL of the form postgres://user:password@host:5432/database");

const envSchema = z.object({
  NODE_ENV: z
    .enum(["development", "production", "test"], "one of development, production, test")
    .default("development"),
  HOST: z.string().trim().min(1, "a host name or address").default("0.0.0.0"),
  PORT: integer(0, 65535).default(3000),
  LOG_LEVEL: z
    .enum(
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
      "one of fatal, error, warn, info, debug, trace, silent",
    )
    .default("info"),
  LOG_FORMAT: z.enum(["pretty", "json"], "one of pretty, json").optional(),
  WEB_CONCURRENCY: integer(1, 64).default(1),
  SHUTDOWN_GRACE_MS: integer(0, 600_000).default(10_000),
  SHUTDOWN_DELAY_MS: integer(0, 600_000).optional(),

  DATABASE_URL: postgresUrl.optional(),
  DATABASE_DRIVER: z.enum(["pg", "neon"], "one of pg, neon").default("pg"),
  DATABASE_POOL_MAX: integer(1, 1000).default(10),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 600_000).default(5_000),
  DATABASE_IDLE_TIMEOUT_MS: integer(0, 3_600_000).default(30_000),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(0, 3_600_000).default(10_000),
  NEON_WEBSOCKET_PROXY: z.string().trim().min(1, "host:port/path of a WebSocket-to-TCP proxy").optional(),
  PGLITE_DATA_DIR: z
    .string()
    .trim()
    .min(1, 'a directory, or "memory://" for an in-memory database')
    .default("./.data/pglite"),
  MIGRATE_ON_START: boolean.default(true),

  AUTH_JWKS_URL: z
    .url({ protocol: /^https?$/, error: "an http(s) URL, e.g. https://auth.example.com/api/auth/jwks" })
    .optional(),
  AUTH_SECRET: z.string().optional(),
  BETTER_AUTH_SECRET: z.string().optional(),
  AUTH_ISSUER: z.string().trim().min(1).optional(),
  AUTH_AUDIENCE: z.string().trim().min(1).optional(),
  AUTH_ALGORITHMS: z
    .string()
    .transform((value) => value.split(",").map((alg) => alg.trim()))
    .pipe(z.array(z.enum(["EdDSA", "ES256", "RS256"], "a comma-separated list of EdDSA, ES256, RS256")).min(1))
    .optional(),
  AUTH_CLOCK_TOLERANCE_S: integer(0, 300).default(5),
  AUTH_JWKS_TIMEOUT_MS: integer(100, 60_000).default(3_000),
  AUTH_JWKS_COOLDOWN_MS: integer(0, 3_600_000).default(30_000),
  AUTH_TOKEN_CACHE_SIZE: integer(0, 10_000_000).default(10_000),
  LOCAL_SECRET_FILE: z.string().trim().min(1).default("./.data/local-auth-secret"),
  GRAPHIQL: boolean.optional(),
  GRAPHQL_INTROSPECTION: boolean.optional(),
  TRUSTED_DOCUMENTS: boolean.optional(),
  TRUSTED_DOCUMENTS_FILES: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((file) => file.trim())
        .filter(Boolean),
    )
    .default([]),
  IDEMPOTENCY_TTL_HOURS: integer(1, 24 * 365).default(24),
  RATE_LIMIT_WINDOW_MS: integer(1000, 3_600_000).default(60_000),
  RATE_LIMIT_USER: integer(0, 10_000_000).default(600),
  RATE_LIMIT_IP: integer(0, 10_000_000).default(1200),
  REDIS_URL: z
    .string()
    .trim()
    .regex(/^rediss?:\/\/\S+$/, "a URL of the form redis://host:6379")
    .optional(),
  MAX_BODY_BYTES: integer(1024, 100 * 1024 * 1024).default(1024 * 1024),
  CHANGE_RETENTION_S: integer(60, 10 * 365 * 24 * 3600).default(7 * 24 * 3600),
  CHANGE_PURGE_INTERVAL_MS: integer(100, 24 * 3600 * 1000).default(60_000),
  LIVE_POLL_MS: integer(50, 60_000).default(1_000),
  LIVE_MAX_STREAMS_PER_USER: integer(1, 10_000).default(20),
  CORS_ORIGINS: z
    .string()
    .transform((value) =>
      value
        .split(",")
        .map((origin) => origin.trim())
        .filter(Boolean),
    )
    .pipe(
      z.array(
        z
          .string()
          .refine(
            (origin) => origin === "*" || /^https?:\/\/[^/\s]+$/.test(origin),
            "a comma-separated list of origins like https://app.example.com",
          ),
      ),
    )
    .default([]),
});

export type DatabaseConfig =
  | { kind: "pglite"; dataDir: string }
  | {
      kind: "postgres" | "neon";
      url: string;
      poolMax: number;
      connectTimeoutMs: number;
      idleTimeoutMs: number;
      statementTimeoutMs: number;
      /** Neon only: a WebSocket-to-TCP proxy (Neon's local-development setup). */
      webSocketProxy?: string;
    };

interface TokenRules {
  /** Checked against `iss` when set. */
  issuer?: string;
  /** Checked against `aud` when set. */
  audience?: string;
  clockToleranceSeconds: number;
  /** Verified tokens remembered until they expire; 0 turns the cache off. */
  cacheSize: number;
}

export type AuthConfig = TokenRules &
  (
    | {
        kind: "jwks";
        jwksUrl: string;
        algorithms: ("EdDSA" | "ES256" | "RS256")[];
        timeoutMs: number;
        cooldownMs: number;
      }
    | { kind: "secret"; secret: string }
    /** Development only: a random secret kept in `file`, shared with `npm run token`. */
    | { kind: "local"; file: string }
  );

export interface Config {
  env: "development" | "production" | "test";
  host: string;
  port: number;
  log: { level: string; pretty: boolean };
  /** Server processes (node:cluster workers) sharing the port; 1 serves from this process. */
  workers: number;
  shutdownGraceMs: number;
  /** After SIGTERM, how long to keep accepting (while /readyz says 503) before closing the listener. */
  shutdownDelayMs: number;
  database: DatabaseConfig;
  migrateOnStart: boolean;
  auth: AuthConfig;
  graphiql: boolean;
  /** Whether clients may ask the schema about itself (and get "Did you mean" hints). */
  introspection: boolean;
  /**
   * Trusted documents: /graphql runs only the operations in the manifests
   * (the web client's, the REST layer's, and `extraFiles`), by hash or by
   * text; others are refused. Off: any valid operation runs, and known
   * hashes still resolve.
   */
  trustedDocuments: { only: boolean; extraFiles: string[] };
  /** Request bodies above this many bytes are refused (413) before parsing. */
  maxBodyBytes: number;
  /** Browser origins allowed to call the API (CORS); empty: none. */
  corsOrigins: string[];
  /** How long an Idempotency-Key is remembered. */
  idempotencyTtlMs: number;
  /** Requests per window: per user once authenticated, per client address before; 0 turns a limit off. */
  rateLimit: { windowMs: number; perUser: number; perAddress: number; redisUrl?: string };
  live: {
    /** How long the change log keeps an event; an older cursor is refused (CURSOR_EXPIRED). */
    retentionMs: number;
    /** How often this process drops expired events. */
    purgeIntervalMs: number;
    /** How often open streams check the log themselves, in case a notification was lost: the worst-case delay then. */
    pollMs: number;
    /** Open subscriptions one user may hold in one process. */
    maxStreamsPerUser: number;
    /** Notifications between processes: Redis pub/sub when set, else PostgreSQL LISTEN/NOTIFY or in-process. */
    redisUrl?: string;
  };
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads the configuration from an environment (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "not set", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      return `  ${name}=${JSON.stringify(present[name] ?? "")}: expected ${issue.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n${problems.join("\n")}`);
  }
  const e = parsed.data;
  if (e.DATABASE_DRIVER === "neon" && e.DATABASE_URL === undefined) {
    throw new ConfigError("Invalid configuration:\n  DATABASE_DRIVER=neon: expected DATABASE_URL to be set as well");
  }
  const fail = (line: string) => {
    throw new ConfigError(`Invalid configuration:\n  ${line}`);
  };
  if (e.WEB_CONCURRENCY > 1 && e.DATABASE_URL === undefined) {
    fail(
      `WEB_CONCURRENCY=${e.WEB_CONCURRENCY}: expected 1 with the embedded database, which one process owns; set DATABASE_URL to run several workers`,
    );
  }
  const secret = e.AUTH_SECRET ?? e.BETTER_AUTH_SECRET;
  const secretName = e.AUTH_SECRET === undefined ? "BETTER_AUTH_SECRET" : "AUTH_SECRET";
  if (secret !== undefined && e.AUTH_JWKS_URL !== undefined) {
    fail(`AUTH_JWKS_URL and ${secretName}: expected one of them, not both (JWKS or a shared secret)`);
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    fail(
      `${secretName}: expected at least 32 bytes (got ${Buffer.byteLength(secret)}); generate one with: openssl rand -base64 32`,
    );
  }
  if (secret !== undefined && e.AUTH_ALGORITHMS !== undefined) {
    fail("AUTH_ALGORITHMS: applies to AUTH_JWKS_URL only; a shared secret always means HS256");
  }
  if (secret === undefined && e.AUTH_JWKS_URL === undefined && e.NODE_ENV === "production") {
    fail("AUTH_JWKS_URL or AUTH_SECRET: expected one of them in production (tokens cannot be verified otherwise)");
  }
  const rules: TokenRules = {
    ...(e.AUTH_ISSUER === undefined ? {} : { issuer: e.AUTH_ISSUER }),
    ...(e.AUTH_AUDIENCE === undefined ? {} : { audience: e.AUTH_AUDIENCE }),
    clockToleranceSeconds: e.AUTH_CLOCK_TOLERANCE_S,
    cacheSize: e.AUTH_TOKEN_CACHE_SIZE,
  };
  const auth: AuthConfig =
    e.AUTH_JWKS_URL !== undefined
      ? {
          ...rules,
          kind: "jwks",
          jwksUrl: e.AUTH_JWKS_URL,
          algorithms: e.AUTH_ALGORITHMS ?? ["EdDSA"],
          timeoutMs: e.AUTH_JWKS_TIMEOUT_MS,
          cooldownMs: e.AUTH_JWKS_COOLDOWN_MS,
        }
      : secret !== undefined
        ? { ...rules, kind: "secret", secret }
        : { ...rules, kind: "local", file: e.LOCAL_SECRET_FILE };

  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    log: {
      level: e.LOG_LEVEL,
      pretty: (e.LOG_FORMAT ?? (e.NODE_ENV === "production" ? "json" : "pretty")) === "pretty",
    },
    workers: e.WEB_CONCURRENCY,
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
    shutdownDelayMs: e.SHUTDOWN_DELAY_MS ?? (e.NODE_ENV === "production" ? 5_000 : 0),
    database:
      e.DATABASE_URL === undefined
        ? { kind: "pglite", dataDir: e.PGLITE_DATA_DIR }
        : {
            kind: e.DATABASE_DRIVER === "neon" ? "neon" : "postgres",
            url: e.DATABASE_URL,
            poolMax: e.DATABASE_POOL_MAX,
            connectTimeoutMs: e.DATABASE_CONNECT_TIMEOUT_MS,
            idleTimeoutMs: e.DATABASE_IDLE_TIMEOUT_MS,
            statementTimeoutMs: e.DATABASE_STATEMENT_TIMEOUT_MS,
            ...(e.NEON_WEBSOCKET_PROXY === undefined ? {} : { webSocketProxy: e.NEON_WEBSOCKET_PROXY }),
          },
    migrateOnStart: e.MIGRATE_ON_START,
    auth,
    graphiql: e.GRAPHIQL ?? e.NODE_ENV !== "production",
    introspection: e.GRAPHQL_INTROSPECTION ?? e.GRAPHIQL ?? e.NODE_ENV !== "production",
    trustedDocuments: { only: e.TRUSTED_DOCUMENTS ?? false, extraFiles: e.TRUSTED_DOCUMENTS_FILES },
    maxBodyBytes: e.MAX_BODY_BYTES,
    corsOrigins: e.CORS_ORIGINS,
    idempotencyTtlMs: e.IDEMPOTENCY_TTL_HOURS * 60 * 60 * 1000,
    rateLimit: {
      windowMs: e.RATE_LIMIT_WINDOW_MS,
      perUser: e.RATE_LIMIT_USER,
      perAddress: e.RATE_LIMIT_IP,
      ...(e.REDIS_URL === undefined ? {} : { redisUrl: e.REDIS_URL }),
    },
    live: {
      retentionMs: e.CHANGE_RETENTION_S * 1000,
      purgeIntervalMs: e.CHANGE_PURGE_INTERVAL_MS,
      pollMs: e.LIVE_POLL_MS,
      maxStreamsPerUser: e.LIVE_MAX_STREAMS_PER_USER,
      ...(e.REDIS_URL === undefined ? {} : { redisUrl: e.REDIS_URL }),
    },
  };
}

/** For entry points: the configuration, or the problems printed and the process ended. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}
