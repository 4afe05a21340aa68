import type { Http2Bindings, HttpBindings } from "@hono/node-server";
import { type Context, Hono, type Next } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { TokenVerifier } from "./auth/index.js";
import type { Config } from "./config.js";
import { createContextFactory } from "./context.js";
import type { Database } from "./db/database.js";
import { createGraphQLHandler } from "./graphql.js";
import type { Logger } from "./logger.js";
import { createRateLimiter, RateLimitedError } from "./rate-limit.js";
import { createDocsRoutes } from "./rest/docs.js";
import { createRestRoutes } from "./rest/routes.js";

export interface AppDependencies {
  config: Config;
  db: Database;
  logger: Logger;
  verifier: TokenVerifier;
  /** False while the service cannot serve yet (migrations pending at start): the APIs answer 503. */
  serving?: () => boolean;
}

export interface App {
  /**
   * The whole service as a fetch handler: what the HTTP server and the tests
   * call. The Node server passes its bindings (`{ incoming, outgoing }`) on as
   * `env`: the client's address comes from there.
   */
  fetch(request: Request, env?: NodeBindings): Promise<Response>;
  /** From now on /readyz says 503, so that load balancers stop sending traffic. */
  drain(): void;
  /**
   * Waits for every request handler still running (also those whose client
   * is gone), then releases what the app holds besides the database (the
   * rate limiter's Redis connection). Only then may the database close.
   */
  close(): Promise<void>;
}

/** The HTTP surface: routing, request logs and health. No business logic here. */
export async function createApp({ config, db, logger, verifier, serving = () => true }: AppDependencies): Promise<App> {
  let draining = false;
  const limiter = createRateLimiter({
    windowMs: config.rateLimit.windowMs,
    redisUrl: config.rateLimit.redisUrl,
    onError: (error) => logger.warn({ err: error }, "rate limiter unavailable: requests are let through"),
  });
  const createContext = createContextFactory({
    verifier,
    prisma: db.prisma,
    limiter,
    perUserLimit: config.rateLimit.perUser,
    idempotencyTtlMs: config.idempotencyTtlMs,
  });
  const graphql = await createGraphQLHandler({ config, createContext, logger });
  const app = new Hono();

  app.use(async (c, next) => {
    const started = performance.now();
    // A caller's id is kept only if it is short and plain, so it cannot forge log lines.
    const given = c.req.header("x-request-id");
    const requestId = given !== undefined && /^[\w.:-]{1,128}$/.test(given) ? given : crypto.randomUUID();
    await next();
    setResponseHeader(c, "x-request-id", requestId);
    const status = c.res.status;
    const line = {
      requestId,
      method: c.req.method,
      path: c.req.path,
      status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    };
    const message = `${line.method} ${line.path} ${status} ${line.ms}ms`;
    if (status >= 500) logger.error(line, message);
    else logger.info(line, message);
  });

  app.use(
    secureHeaders({
      // HSTS only means something behind HTTPS, which production has.
      strictTransportSecurity: config.env === "production" ? "max-age=31536000; includeSubDomains" : false,
      referrerPolicy: "no-referrer",
      crossOriginResourcePolicy: "same-origin",
      xFrameOptions: "DENY",
    }),
  );
  // API answers are data, never a page: a strict policy for every JSON response.
  // (GraphiQL and the REST docs are pages with scripts, and get none.)
  app.use(async (c, next) => {
    await next();
    if (c.res.headers.get("content-type")?.includes("json")) {
      setResponseHeader(c, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
  });

  // Liveness: the process answers. Never touches the database, so a database
  // outage does not get the process restarted.
  app.get("/healthz", (c) => c.json({ status: "ok" }));

  // Readiness: this instance can serve traffic now.
  app.get("/readyz", async (c) => {
    if (draining) return c.json({ status: "shutting_down" }, 503, { "Retry-After": "5" });
    const readiness = await db.readiness();
    const ready = readiness.database === "ok" && readiness.migrations === "ok";
    return ready
      ? c.json({ status: "ready", ...readiness })
      : c.json({ status: "not_ready", ...readiness }, 503, { "Retry-After": "5" });
  });

  if (config.corsOrigins.length > 0) {
    const origin = config.corsOrigins.includes("*") ? "*" : config.corsOrigins;
    const cors_ = cors({
      origin,
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      allowHeaders: ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-Id"],
      exposeHeaders: ["ETag", "Location", "Retry-After", "X-Request-Id", "WWW-Authenticate"],
      maxAge: 600,
    });
    app.use("/graphql", cors_);
    app.use("/api/*", cors_);
  }

  // Bodies are capped before anything reads them.
  const tooLarge = (c: Context) =>
    c.json(
      {
        error: {
          code: "PAYLOAD_TOO_LARGE",
          message: `The request body is larger than ${config.maxBodyBytes} bytes.`,
        },
      },
      413,
    );
  const limit = bodyLimit({ maxSize: config.maxBodyBytes, onError: tooLarge });
  // GET and HEAD requests have no body. Behind Node's HTTP parser a
  // Content-Length is binding (the parser reads that many bytes and no more),
  // so such a request is judged by its header. Either way the body is left
  // for the handler to read in one go: Hono's bodyLimit reads it as a stream,
  // which makes the Node adapter build a full Request first. Chunked bodies,
  // and requests made without a socket (tests), are counted as they arrive.
  const limitBodies = async (c: Context, next: Next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = c.req.header("content-length");
    if (
      declared !== undefined &&
      /^\d{1,15}$/.test(declared) &&
      c.req.header("transfer-encoding") === undefined &&
      nodeIncoming(c) !== undefined
    ) {
      if (Number(declared) > config.maxBodyBytes) return tooLarge(c);
      return next();
    }
    return limit(c, next);
  };
  app.use("/graphql", limitBodies);
  app.use("/api/*", limitBodies);

  const notYet = async (c: Context, next: Next) => {
    if (serving()) return next();
    return c.json(
      { error: { code: "SERVICE_UNAVAILABLE", message: "The service is starting. Try again shortly." } },
      503,
      { "Retry-After": "5" },
    );
  };
  app.use("/graphql", notYet);
  app.use("/api/*", notYet);

  // Before authentication, per client address: a flood of bad tokens costs
  // little, and never reaches the verifier. (Behind a proxy every client
  // shares its address: raise RATE_LIMIT_IP, or turn it off with 0.)
  const perAddress = async (c: Context, next: Next) => {
    if (config.rateLimit.perAddress > 0) {
      const address = remoteAddress(c);
      try {
        await limiter.take(`ip:${address}`, config.rateLimit.perAddress);
      } catch (error) {
        if (!(error instanceof RateLimitedError)) throw error;
        const retry = { "Retry-After": String(error.retryAfterSeconds) };
        const body = { code: "RATE_LIMITED", message: error.message };
        return c.req.path.startsWith("/api")
          ? c.json({ error: body }, 429, retry)
          : c.json({ errors: [{ message: error.message, extensions: { code: "RATE_LIMITED" } }] }, 429, retry);
      }
    }
    return next();
  };
  app.use("/graphql", perAddress);
  app.use("/api/*", perAddress);

  // Operations are posted as JSON only. A browser form (urlencoded, multipart,
  // text/plain) can be sent cross-site without a preflight: refusing those
  // means no mutation can ride on a user's cookies or open tab (CSRF).
  app.post("/graphql", async (c, next) => {
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/(graphql-response\+)?json\s*(;|$)/i.test(type)) {
      return c.json(
        {
          errors: [
            {
              message: "GraphQL requests must be sent as JSON (Content-Type: application/json).",
              extensions: { code: "UNSUPPORTED_MEDIA_TYPE" },
            },
          ],
        },
        415,
      );
    }
    await next();
  });
  app.on(["GET", "POST", "OPTIONS"], "/graphql", async (c) => {
    const response = await graphql.fetch(c.req.raw);
    // Yoga answers with its own Response class, which the Node adapter can
    // only stream out; the same text in this runtime's Response is written
    // in one go. Yoga's bodies are complete JSON or HTML documents (no
    // subscriptions or incremental delivery are served).
    return new Response(await response.text(), { status: response.status, headers: response.headers });
  });
  app.route("/api", createDocsRoutes());
  app.route("/api", createRestRoutes({ createContext, logger }));

  app.notFound((c) =>
    c.json({ error: { code: "NOT_FOUND", message: `No route for ${c.req.method} ${c.req.path}.` } }, 404),
  );

  app.onError((error, c) => {
    logger.error({ err: error, path: c.req.path }, "unhandled error");
    return c.json({ error: { code: "INTERNAL_SERVER_ERROR", message: "Unexpected error." } }, 500);
  });

  // Closing the HTTP server (or cutting its connections after the grace
  // period) does not stop handlers already running: they finish, and need
  // the database until they do.
  let inFlight = 0;
  let settled: (() => void) | undefined;
  return {
    fetch: async (request, env) => {
      inFlight++;
      try {
        return await app.fetch(request, env);
      } finally {
        inFlight--;
        if (inFlight === 0) settled?.();
      }
    },
    drain: () => {
      draining = true;
    },
    close: async () => {
      if (inFlight > 0) await new Promise<void>((resolve) => (settled = resolve));
      await limiter.close();
    },
  };
}

/** What @hono/node-server hands the app with each request. */
type NodeBindings = HttpBindings | Http2Bindings;

/** The Node request behind this one, when it came through a socket (not through `app.fetch` alone). */
function nodeIncoming(c: Context): NodeBindings["incoming"] | undefined {
  return (c.env as Partial<NodeBindings> | undefined)?.incoming;
}

/** The peer's address as the socket sees it; requests made without a socket (tests) share one key. */
function remoteAddress(c: Context): string {
  return nodeIncoming(c)?.socket?.remoteAddress ?? "local";
}

/**
 * Sets a header on the response a handler has made. Hono's `c.header()` at
 * this point rebuilds the response around its body as a stream, which the
 * Node adapter then reads chunk by chunk instead of writing the text at once.
 */
function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    // Immutable headers (a Response from fetch()): let Hono copy the response.
    c.header(name, value);
  }
}
