import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import type { DevTokenIssuer } from "../auth/index.js";
import { AppError, BadUserInputError, NoRouteError } from "../errors.js";

/** The built app (web/build.ts): the same place from src/http (tsx) and dist/http (built). */
const builtApp = fileURLToPath(new URL("../../dist/web/", import.meta.url));

/**
 * The page's policy: its own scripts, styles and API only (WebSocket on
 * the same host included), no inline script, no framing.
 */
const pagePolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const types: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
};

/**
 * The task web app at / (built by `npm run build`), its assets under
 * /assets/, and, only while the local development secret is in use, the
 * development sign-in at POST /auth/dev-token.
 */
export function createWebRoutes({ devTokens, dir = builtApp }: { devTokens?: DevTokenIssuer; dir?: string }) {
  const web = new Hono();
  const files = new Map<string, Promise<Buffer | undefined>>();
  const load = (name: string) => {
    let file = files.get(name);
    if (file === undefined) {
      file = readFile(path.join(dir, name)).catch(() => undefined);
      files.set(name, file);
    }
    return file;
  };

  web.get("/", async (c) => {
    const page = await load("index.html");
    if (page === undefined) {
      files.delete("index.html");
      throw new AppError(
        "SERVICE_UNAVAILABLE",
        "The web app is not built: run `npm run build` (npm start does). The API is at /graphql and /api.",
      );
    }
    return c.body(new Uint8Array(page), 200, {
      "Content-Type": "text/html; charset=utf-8",
      "Content-Security-Policy": pagePolicy,
      "Cache-Control": "no-cache",
    });
  });

  web.get("/assets/:name", async (c) => {
    const name = c.req.param("name");
    const type = types[path.extname(name)];
    // Names come from the build (letters, digits, - and .): nothing else is looked up.
    const content = type && /^[\w-]+(\.[\w]+)+$/.test(name) ? await load(path.join("assets", name)) : undefined;
    if (content === undefined) throw new NoRouteError("GET", c.req.path);
    // Content-hashed names: a new build has new names, so these never change.
    return c.body(new Uint8Array(content), 200, {
      "Content-Type": type ?? "application/octet-stream",
      "Cache-Control": "public, max-age=31536000, immutable",
    });
  });

  if (devTokens) {
    web.post("/auth/dev-token", async (c) => {
      const body = (await c.req.json().catch(() => undefined)) as { user?: unknown } | undefined;
      const user = typeof body?.user === "string" ? body.user.trim() : "";
      if (!/^[A-Za-z0-9._@-]{1,64}$/.test(user)) {
        throw new BadUserInputError([
          { field: "user", message: "1 to 64 letters, digits, or . _ @ - (it becomes the user id)." },
        ]);
      }
      const { token, expiresAt } = await devTokens.issue(user);
      return c.json({ token, expiresAt, userId: user }, 200, { "Cache-Control": "no-store" });
    });
  }

  return web;
}
