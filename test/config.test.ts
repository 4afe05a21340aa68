import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config.js";

describe("configuration", () => {
  it("runs on the embedded database with no configuration at all", () => {
    const config = loadConfig({});
    expect(config.database).toEqual({ kind: "pglite", dataDir: "./.data/pglite" });
    expect(config.port).toBe(3000);
    expect(config.env).toBe("development");
    expect(config.log.pretty).toBe(true);
    expect(config.migrateOnStart).toBe(true);
  });

  it("uses PostgreSQL through pg when DATABASE_URL is set, with the pool settings", () => {
    const config = loadConfig({
      DATABASE_URL: "postgres://u:p@db.example:5432/tasks",
      DATABASE_POOL_MAX: "20",
      DATABASE_STATEMENT_TIMEOUT_MS: "2500",
    });
    expect(config.database).toEqual({
      kind: "postgres",
      url: "postgres://u:p@db.example:5432/tasks",
      poolMax: 20,
      connectTimeoutMs: 5000,
      idleTimeoutMs: 30000,
      statementTimeoutMs: 2500,
    });
  });

  it("selects the Neon serverless driver by configuration", () => {
    const config = loadConfig({ DATABASE_URL: "postgresql://u:p@ep-x.neon.tech/db", DATABASE_DRIVER: "neon" });
    expect(config.database.kind).toBe("neon");
  });

  it("runs one server process unless WEB_CONCURRENCY asks for workers, which the embedded database cannot have", () => {
    expect(loadConfig({}).workers).toBe(1);
    expect(loadConfig({ DATABASE_URL: "postgres://u:p@db.example:5432/tasks", WEB_CONCURRENCY: "2" }).workers).toBe(2);
    expect(() => loadConfig({ WEB_CONCURRENCY: "2" })).toThrow(
      /WEB_CONCURRENCY=2: expected 1 with the embedded database/,
    );
    expect(() => loadConfig({ DATABASE_URL: "postgres://u:p@db.example:5432/tasks", WEB_CONCURRENCY: "0" })).toThrow(
      ConfigError,
    );
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfig({ DATABASE_URL: "", PORT: "" }).database.kind).toBe("pglite");
  });

  it("JSON logs in production", () => {
    expect(
      loadConfig({ NODE_ENV: "production", AUTH_JWKS_URL: "https://auth.example.com/api/auth/jwks" }).log.pretty,
    ).toBe(false);
  });

  it.each([
    ["PORT", "eighty", /PORT="eighty": expected a whole number from 0 to 65535/],
    ["PORT", "70000", /PORT="70000": expected at most 65535/],
    ["DATABASE_URL", "mysql://x/y", /DATABASE_URL="mysql:\/\/x\/y": expected a URL of the form postgres:\/\//],
    ["DATABASE_POOL_MAX", "0", /DATABASE_POOL_MAX="0": expected at least 1/],
    ["DATABASE_DRIVER", "oracle", /DATABASE_DRIVER="oracle": expected one of pg, neon/],
    ["MIGRATE_ON_START", "maybe", /MIGRATE_ON_START="maybe": expected one of true, false/],
    ["NODE_ENV", "staging", /NODE_ENV="staging": expected one of development, production, test/],
  ])("refuses %s=%s with a message naming the variable", (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it("lists every wrong variable at once", () => {
    expect(() => loadConfig({ PORT: "x", LOG_LEVEL: "loud" })).toThrow(/PORT="x"[\s\S]*LOG_LEVEL="loud"/);
  });

  it("needs DATABASE_URL for the Neon driver", () => {
    expect(() => loadConfig({ DATABASE_DRIVER: "neon" })).toThrow(/DATABASE_DRIVER=neon: expected DATABASE_URL/);
  });
});
