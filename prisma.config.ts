import { defineConfig } from "prisma/config";

// Only `prisma generate` reads this file. Migrations are created and applied by
// src/db/migrate.ts through Prisma's WebAssembly schema engine, so no database
// URL is needed here.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
