import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Hono } from "hono";
import type { DevTokenIssuer } from "../auth/index.js";
import { AppError, BadUserInputError, ForbiddenError, NoRouteError } from "../errors.js";
import { remoteAddress } from "./node-adapter.js";

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
  /** The built files, read once: index.html and the assets the build named (nothing else is looked up). */
  let built: Promise<Map<string, Buffer> | undefined> | undefined;
  const load = () => {
    built ??= (async () => {
      const files = new Map<string, Buffer>();
      const assets = await readdir(path.join(dir, "assets")).catch(() => [] as string[]);
      for (const name of assets)
        if (types[path.extname(name)]) files.set(name, await readFile(path.join(dir, "assets", name)));
      const page = await readFile(path.join(dir, "index.html")).catch(() => undefined);
      if (page === undefined) return undefined;
      files.set("index.html", page);
      return files;
    })();
    return built;
  };

  web.get("/", async (c) => {
    const page = (await load())?.get("index.html");
    if (page === undefined) {
      built = undefined; // Built later (npm run build): found on the next request.
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
    const content = name === "index.html" ? undefined : (await load())?.get(name);
    if (content === undefined) throw new NoRouteError("GET", c.req.path);
    // Content-hashed names: a new build has new names, so these never change.
    return c.body(new Uint8Array(content), 200, {
      "Content-Type": types[path.extname(name)] ?? "application/octet-stream",
      "Cache-Control": "public, max-age=31536000, immutable",
    });
  });

  if (devTokens) {
    web.post("/auth/dev-token", async (c) => {
      // Anyone who can reach it could sign in as anyone: only from this machine (the service
      // listens on every interface by default).
      if (!isLoopback(remoteAddress(c))) {
        throw new ForbiddenError(
          "The development sign-in answers on this machine only (localhost). Elsewhere, configure an auth service (AUTH_JWKS_URL or AUTH_SECRET).",
        );
      }
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

/** A request from this machine: a loopback address, or an in-process call (no socket at all). */
function isLoopback(address: string): boolean {
  return address === "local" || address === "::1" || /^(::ffff:)?127\./.test(address);
}
