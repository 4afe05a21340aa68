import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { Hono } from "hono";
import { openApiDocument } from "./openapi.js";

/**
 * The contract at /api/openapi.json, and an interactive page for it at
 * /api/docs. Swagger UI's files come from the installed package, not a CDN,
 * so the page works offline.
 */
export function createDocsRoutes() {
  const docs = new Hono();
  const dist = path.dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const assets: Record<string, { file: string; type: string }> = {
    "swagger-ui.css": { file: "swagger-ui.css", type: "text/css; charset=utf-8" },
    "swagger-ui-bundle.js": { file: "swagger-ui-bundle.js", type: "text/javascript; charset=utf-8" },
  };
  const loaded = new Map<string, Promise<string>>();

  docs.get("/openapi.json", (c) => c.json(openApiDocument));

  docs.get("/docs", (c) =>
    c.html(`<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>tasks-api REST</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
</head>
<body>
  <div id="docs"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/init.js"></script>
</body>
</html>`),
  );

  // In a file of its own so that a strict Content-Security-Policy needs no inline script.
  docs.get("/docs/init.js", (c) =>
    c.body('SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#docs", persistAuthorization: true });\n', 200, {
      "Content-Type": "text/javascript; charset=utf-8",
    }),
  );

  docs.get("/docs/:asset", async (c) => {
    const asset = assets[c.req.param("asset")];
    if (asset === undefined) return c.notFound();
    let content = loaded.get(asset.file);
    if (content === undefined) {
      content = readFile(path.join(dist, asset.file), "utf8");
      loaded.set(asset.file, content);
    }
    return c.body(await content, 200, { "Content-Type": asset.type, "Cache-Control": "public, max-age=86400" });
  });

  return docs;
}
