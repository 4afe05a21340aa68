import { execFileSync } from "node:child_process";
import type { TestProject } from "vitest/node";
import { prepareTemplate } from "./helpers/template.js";

declare module "vitest" {
  export interface ProvidedContext {
    /** A dump of a migrated PGlite, or the name of a migrated PostgreSQL template database. */
    template: { kind: "pglite"; dumpPath: string } | { kind: "postgres"; url: string; database: string };
  }
}

/** Builds the web app, and migrates one database for the whole run; each test file starts from a copy of it. */
export default async function setup(project: TestProject) {
  // The web app the servers serve at / (the browser tests load it), as `npm run build` makes it.
  execFileSync(process.execPath, ["--import", "tsx", "web/build.ts"], { stdio: "inherit" });
  const { template, dispose } = await prepareTemplate(process.env.TEST_DATABASE_URL);
  project.provide("template", template);
  return dispose;
}
