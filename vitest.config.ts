import { defineConfig } from "vitest/config";

export default defineConfig({
  resolve: {
    // graphql 16 ships CommonJS (main) and ESM (module) copies. Node loads the
    // CommonJS one for everyone, including Pothos and Yoga; Vite would give
    // our own files the ESM one, and two copies of graphql cannot share a
    // schema. Point Vite at the copy Node uses.
    alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }],
  },
  test: {
    include: ["test/**/*.test.ts", "test/**/*.test.tsx"],
    globalSetup: ["test/global-setup.ts"],
    // Each file gets its own database (an in-memory PGlite, or a database
    // cloned from a migrated template on PostgreSQL), so files run in parallel.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
