import { Hono } from "hono";
import type { TokenVerifier } from "./auth/index.js";
import type { Config } from "./config.js";
import { createContextFactory } from "./context.js";
import type { Database } from "./db/database.js";
import { graphqlErrorResponse, NoRouteError, restErrorResponse, toAppError } from "./errors.js";
import { createGraphQLHandler } from "./graphql.js";
import {
  allowCrossOrigin,
  capBodySize,
  compressLargeBodies,
  limitPerAddress,
  lockDownJson,
  logRequests,
  refuseUntilServing,
  requireJsonPosts,
  setSecurityHeaders,
} from "./http/middleware.js";
import { asNativeResponse, type NodeBindings } from "./http/node-adapter.js";
import type { Logger } from "./logger.js";
import { createRateLimiter } from "./rate-limit.js";
import { createDocsRoutes } from "./rest/docs.js";
import { createRestRoutes } from "./rest/routes.js";

/** Where the process is in its life (see server.ts): the APIs serve only while "serving". */
export type Phase = "starting" | "serving" | "draining";

export interface AppDependencies {
  config: Config;
  db: Database;
  logger: Logger;
  verifier: TokenVerifier;
  /** The process's phase, read with every request; "serving" unless given. */
  phase?: () => Phase;
}

export interface App {
  /**
   * The whole service as a fetch handler: what the HTTP server and the tests
   * call. The Node server passes its bindings (`{ incoming, outgoing }`) on as
   * `env`: the client's address comes from there.
   */
  fetch(request: Request, env?: NodeBindings): Promise<Response>;
  /** Releases what the app holds besides the database (the rate limiter's Redis connection). */
  close(): Promise<void>;
}

/**
 * The HTTP surface: health, then the two APIs, each with its pipeline in the
 * order it runs. No business logic here.
 */
export async function createApp({
  config,
  db,
  logger,
  verifier,
  phase = () => "serving",
}: AppDependencies): Promise<App> {
  const limiter = createRateLimiter({
    windowMs: config.rateLimit.windowMs,
    redisUrl: config.rateLimit.redisUrl,
    onError: (error) =>
      logger.warn({ err: error }, "Redis unavailable: rate limits are counted in this instance for now"),
  });
  await limiter.ready();
  const createContext = createContextFactory({
    verifier,
    prisma: db.prisma,
    limiter,
    perUserLimit: config.rateLimit.perUser,
    idempotencyTtlMs: config.idempotencyTtlMs,
  });
  const graphql = await createGraphQLHandler({ config, createContext, logger });

  /** What both APIs do before their handlers, in order. */
  const guards = [
    allowCrossOrigin(config),
    capBodySize(config.maxBodyBytes),
    refuseUntilServing(() => phase() !== "starting"),
    limitPerAddress(limiter, config.rateLimit.perAddress),
  ];

  const graphqlApi = new Hono()
    .use(...guards, requireJsonPosts())
    .on(["GET", "POST", "OPTIONS"], "/", async (c) => asNativeResponse(await graphql.fetch(c.req.raw)))
    .onError((error) => graphqlErrorResponse(toAppError(error, logger)));

  const restApi = new Hono()
    .use(...guards)
    .route("/", createDocsRoutes())
    .route("/", createRestRoutes({ createContext, logger }))
    .onError((error) => restErrorResponse(toAppError(error, logger)));

  const app = new Hono()
    .use(logRequests(logger), setSecurityHeaders(config), lockDownJson(), compressLargeBodies())
    // Liveness: the process answers. Never touches the database, so a
    // database outage does not get the process restarted.
    .get("/healthz", (c) => c.json({ status: "ok" }))
    // Readiness: this instance serves its APIs now.
    .get("/readyz", async (c) => {
      const current = phase();
      if (current === "draining") return c.json({ status: "shutting_down" }, 503, { "Retry-After": "5" });
      const readiness = await db.readiness();
      const ready = current === "serving" && readiness.database === "ok" && readiness.migrations === "ok";
      return ready
        ? c.json({ status: "ready", ...readiness })
        : c.json({ status: "not_ready", ...readiness }, 503, { "Retry-After": "5" });
    })
    .route("/graphql", graphqlApi)
    .route("/api", restApi)
    .notFound((c) => restErrorResponse(new NoRouteError(c.req.method, c.req.path)))
    .onError((error) => restErrorResponse(toAppError(error, logger)));

  return {
    fetch: async (request, env) => app.fetch(request, env),
    close: () => limiter.close(),
  };
}
