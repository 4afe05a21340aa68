import { createHash } from "node:crypto";
import { printSchema } from "graphql";
import { Hono } from "hono";
import type { DevTokenIssuer, TokenVerifier } from "./auth/index.js";
import type { Config } from "./config.js";
import { type CreateContext, createContextFactory } from "./context.js";
import { purgeChanges } from "./db/changes.js";
import type { Database } from "./db/database.js";
import { AppError, graphqlErrorResponse, NoRouteError, restErrorResponse, toAppError } from "./errors.js";
import { createGraphQLHandler, type GraphQLHandler } from "./graphql.js";
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
import { createWebRoutes } from "./http/web-app.js";
import { createChangeHub } from "./live.js";
import type { Logger } from "./logger.js";
import { createRateLimiter } from "./rate-limit.js";
import { createDocsRoutes } from "./rest/docs.js";
import { createRestRoutes } from "./rest/routes.js";
import { schema } from "./schema/index.js";
import { builtInManifests, loadTrustedDocuments } from "./trusted-documents.js";

/** Where the process is in its life (see server.ts): the APIs serve only while "serving". */
export type Phase = "starting" | "serving" | "draining";

export interface AppDependencies {
  config: Config;
  db: Database;
  logger: Logger;
  verifier: TokenVerifier;
  /** Development sign-in (POST /auth/dev-token): given only while the local development secret is in use. */
  devTokens?: DevTokenIssuer;
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
  /** The GraphQL handler and the context factory, for GraphQL over WebSocket (see ws.ts). */
  graphql: GraphQLHandler;
  createContext: CreateContext;
  /** Whether an operation's text may run here (always, unless TRUSTED_DOCUMENTS is on). */
  mayRun(query: string): boolean;
  /** Ends every live stream this process serves (on shutdown). */
  endStreams(): void;
  /** Releases what the app holds besides the database (Redis and LISTEN connections, timers). */
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
  devTokens,
  phase = () => "serving",
}: AppDependencies): Promise<App> {
  const limiter = createRateLimiter({
    windowMs: config.rateLimit.windowMs,
    redisUrl: config.rateLimit.redisUrl,
    onError: (error) =>
      logger.warn({ err: error }, "Redis unavailable: rate limits are counted in this instance for now"),
  });
  await limiter.ready();
  const hub = await createChangeHub({
    prisma: db.prisma,
    database: config.database,
    redisUrl: config.live.redisUrl,
    pollMs: config.live.pollMs,
    logger,
  });
  const purger = purgeChangesEvery(db, config, logger);
  const createContext = createContextFactory({
    verifier,
    prisma: db.prisma,
    limiter,
    perUserLimit: config.rateLimit.perUser,
    idempotencyTtlMs: config.idempotencyTtlMs,
    live: { hub, maxStreamsPerUser: config.live.maxStreamsPerUser },
  });
  const trustedDocuments = await loadTrustedDocuments([...builtInManifests, ...config.trustedDocuments.extraFiles]);
  const graphql = await createGraphQLHandler({ config, createContext, logger, trustedDocuments });

  /** What both APIs do before their handlers, in order. */
  const guards = [
    allowCrossOrigin(config),
    capBodySize(config.maxBodyBytes),
    refuseUntilServing(() => phase() !== "starting"),
    limitPerAddress(limiter, config.rateLimit.perAddress),
  ];

  // The schema as SDL (what schema.graphql holds), in every mode: codegen can
  // point at a running service even where introspection is off.
  const sdl = `${printSchema(schema)}\n`;
  const sdlTag = `"${createHash("sha256").update(sdl).digest("base64url").slice(0, 27)}"`;

  const graphqlApi = new Hono()
    .use(...guards, requireJsonPosts())
    .get("/schema.graphql", (c) =>
      c.req.header("if-none-match") === sdlTag
        ? c.body(null, 304, { ETag: sdlTag })
        : c.body(sdl, 200, { "Content-Type": "text/plain; charset=utf-8", ETag: sdlTag, "Cache-Control": "no-cache" }),
    )
    .on(["GET", "POST", "OPTIONS"], "/", async (c) => {
      const response = await graphql.fetch(c.req.raw);
      // A subscription asked for as one JSON answer: Yoga's bare 406, made an error that says what to do.
      if (response.status === 406) {
        return graphqlErrorResponse(
          new AppError(
            "NOT_ACCEPTABLE",
            "A subscription streams: send Accept: text/event-stream (SSE), or use WebSocket (graphql-ws) on /graphql.",
          ),
        );
      }
      // A live stream (SSE): reverse proxies such as nginx must pass each event on at once.
      if (response.headers.get("content-type")?.startsWith("text/event-stream")) {
        response.headers.set("x-accel-buffering", "no");
      }
      return asNativeResponse(response);
    })
    .onError((error) => graphqlErrorResponse(toAppError(error, logger)));

  const restApi = new Hono()
    .use(...guards)
    .route("/", createDocsRoutes())
    .route("/", createRestRoutes({ createContext, logger }))
    .onError((error) => restErrorResponse(toAppError(error, logger)));

  // The web app at /, and the development sign-in (only with the local secret).
  const web = new Hono()
    .use("/auth/*", ...guards, requireJsonPosts("Sign-in requests"))
    .route("/", createWebRoutes(devTokens ? { devTokens } : {}))
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
    .route("/", web)
    .notFound((c) => restErrorResponse(new NoRouteError(c.req.method, c.req.path)))
    .onError((error) => restErrorResponse(toAppError(error, logger)));

  return {
    fetch: async (request, env) => app.fetch(request, env),
    graphql,
    createContext,
    mayRun: (query) => !config.trustedDocuments.only || trustedDocuments.trusts(query),
    endStreams: () => hub.endStreams(),
    async close() {
      clearInterval(purger);
      await Promise.all([limiter.close(), hub.close()]);
    },
  };
}

/**
 * Drops change events older than the retention (CHANGE_RETENTION_S), in
 * batches, every CHANGE_PURGE_INTERVAL_MS. Every instance does it; the
 * deletes do not conflict.
 */
function purgeChangesEvery(db: Database, config: Config, logger: Logger): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(async () => {
    if (running) return;
    running = true;
    try {
      const before = new Date(Date.now() - config.live.retentionMs);
      while ((await purgeChanges(db.prisma, before)) > 0) {}
    } catch (error) {
      logger.warn({ err: error }, "change log: dropping expired events failed; trying again later");
    } finally {
      running = false;
    }
  }, config.live.purgeIntervalMs);
  timer.unref();
  return timer;
}
