/**
 * npm run build:web (part of npm run build, so of npm start): the web app
 * in dist/web/, bundled by esbuild from web/main.tsx. Asset names carry
 * their content hash, so they can be cached for good; index.html names them.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.join(here, "../dist/web");

await rm(out, { recursive: true, force: true });
const result = await build({
  entryPoints: { app: path.join(here, "main.tsx"), styles: path.join(here, "styles.css") },
  outdir: path.join(out, "assets"),
  entryNames: "[name]-[hash]",
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: true,
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  metafile: true,
  logLevel: "warning",
});

const outputs = Object.entries(result.metafile.outputs);
const named = (entry: string) => {
  const found = outputs.find(([, output]) => output.entryPoint?.endsWith(entry));
  if (!found) throw new Error(`esbuild wrote no output for ${entry}`);
  return `/assets/${path.basename(found[0])}`;
};
const html = (await readFile(path.join(here, "index.html"), "utf8"))
  .replace("%SCRIPT%", named("main.tsx"))
  .replace("%STYLES%", named("styles.css"));
await writeFile(path.join(out, "index.html"), html);
const bytes = outputs.reduce((sum, [, output]) => sum + output.bytes, 0);
console.log(`web app: dist/web (${Math.round(bytes / 1024)} KiB with source maps)`);
