/**
 * npm run schema:print  writes schema.graphql from the Pothos schema.
 * npm run schema:check  fails if the committed schema.graphql differs from it.
 */
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { printSchema } from "graphql";
import { schema } from "../schema/index.js";

const file = fileURLToPath(new URL("../../schema.graphql", import.meta.url));
const printed = `${printSchema(schema)}\n`;

if (process.argv.includes("--check")) {
  const committed = await readFile(file, "utf8").catch(() => "");
  if (committed !== printed) {
    console.error("schema.graphql is out of date with src/schema: run `npm run schema:print` and commit it.");
    process.exit(1);
  }
  console.log("schema.graphql matches src/schema.");
} else {
  await writeFile(file, printed);
  console.log(`Wrote ${file}`);
}
