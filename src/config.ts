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
  SHUTDOWN_GRACE_MS: integer(0, 600_000).default(10_000),

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

export interface Config {
  env: "development" | "production" | "test";
  host: string;
  port: number;
  log: { level: string; pretty: boolean };
  shutdownGraceMs: number;
  database: DatabaseConfig;
  migrateOnStart: boolean;
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
  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    log: {
      level: e.LOG_LEVEL,
      pretty: (e.LOG_FORMAT ?? (e.NODE_ENV === "production" ? "json" : "pretty")) === "pretty",
    },
    shutdownGraceMs: e.SHUTDOWN_GRACE_MS,
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
  };
}
