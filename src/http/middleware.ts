import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { compress } from "hono/compress";
import { cors } from "hono/cors";
import { secureHeaders } from "hono/secure-headers";
import type { Config } from "../config.js";
import { PayloadTooLargeError, ServiceUnavailableError, UnsupportedMediaTypeError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { RateLimiter } from "../rate-limit.js";
import { declaredBodySize, remoteAddress, setResponseHeader } from "./node-adapter.js";

/**
 * The steps of the request pipeline, each named for what it does; app.ts
 * puts them in order. A step that refuses a request throws an AppError: the
 * surface's error handler gives it the surface's body shape.
 */

/** One log line per request, with its id (the caller's, if short and plain, so it cannot forge lines). */
export function logRequests(logger: Logger): MiddlewareHandler {
  return async (c, next) => {
    const started = performance.now();
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
    // A 503 is a deliberate "not now" (starting, draining, database away, and
    // /readyz saying so), already explained by its own warning: not an error to page on.
    if (status === 503) logger.warn(line, message);
    else if (status >= 500) logger.error(line, message);
    else logger.info(line, message);
  };
}

/**
 * Bodies of 1 KiB and more go out gzip- or deflate-compressed to clients
 * that accept it (GraphiQL's page is 9 MB; a test checks it halves at least). Hono's compress
 * middleware judges the size by Content-Length; a body without one is
 * compressed whenever the client accepts it. Clients that send no
 * Accept-Encoding skip it entirely.
 */
export function compressLargeBodies(): MiddlewareHandler {
  const compressed = compress({ threshold: 1024 });
  return (c, next) => (c.req.header("accept-encoding") === undefined ? next() : compressed(c, next));
}

/** The browser security headers every response carries. */
export function setSecurityHeaders(config: Config): MiddlewareHandler {
  return secureHeaders({
    // HSTS only means something behind HTTPS, which production has.
    strictTransportSecurity: config.env === "production" ? "max-age=31536000; includeSubDomains" : false,
    referrerPolicy: "no-referrer",
    crossOriginResourcePolicy: "same-origin",
    xFrameOptions: "DENY",
  });
}

/**
 * API answers are data, never a page: a strict policy for every JSON
 * response. (GraphiQL and the REST docs are pages with scripts, and get none.)
 */
export function lockDownJson(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    if (c.res.headers.get("content-type")?.includes("json")) {
      setResponseHeader(c, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
    }
  };
}

/** Cross-origin calls from the origins in CORS_ORIGINS only (none by default): the one CORS policy. */
export function allowCrossOrigin(config: Config): MiddlewareHandler {
  if (config.corsOrigins.length === 0) return (_c, next) => next();
  return cors({
    origin: config.corsOrigins.includes("*") ? "*" : config.corsOrigins,
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "If-Match", "Idempotency-Key", "X-Request-Id"],
    exposeHeaders: ["ETag", "Location", "Retry-After", "X-Request-Id", "WWW-Authenticate"],
    maxAge: 600,
  });
}

/**
 * Bodies over MAX_BODY_BYTES are refused before anything reads them. A
 * socket request with a Content-Length is judged by it (see
 * declaredBodySize); the rest are counted as they arrive.
 */
export function capBodySize(maxBytes: number): MiddlewareHandler {
  const tooLarge = () => {
    throw new PayloadTooLargeError(maxBytes);
  };
  const counted = bodyLimit({ maxSize: maxBytes, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    const declared = declaredBodySize(c);
    if (declared === undefined) return counted(c, next);
    if (declared > maxBytes) tooLarge();
    return next();
  };
}

/** 503 until the service can serve (migrations pending at start). */
export function refuseUntilServing(serving: () => boolean): MiddlewareHandler {
  return async (_c, next) => {
    if (!serving()) throw new ServiceUnavailableError("The service is starting. Try again shortly.");
    return next();
  };
}

/**
 * Before authentication, per client address: a flood of bad tokens costs
 * little, and never reaches the verifier. (Behind a proxy every client
 * shares its address: raise RATE_LIMIT_IP, or turn it off with 0.)
 */
export function limitPerAddress(limiter: RateLimiter, perAddress: number): MiddlewareHandler {
  if (perAddress <= 0) return (_c, next) => next();
  return async (c, next) => {
    await limiter.take(`ip:${remoteAddress(c)}`, perAddress);
    return next();
  };
}

/**
 * Operations are posted as JSON only. A browser form (urlencoded, multipart,
 * text/plain) can be sent cross-site without a preflight: refusing those
 * means no mutation can ride on a user's cookies or open tab (CSRF).
 */
export function requireJsonPosts(what = "GraphQL requests"): MiddlewareHandler {
  return async (c, next) => {
    if (c.req.method !== "POST") return next();
    if (!/^application\/(graphql-response\+)?json\s*(;|$)/i.test(c.req.header("content-type") ?? "")) {
      throw new UnsupportedMediaTypeError(`${what} must be sent as JSON (Content-Type: application/json).`);
    }
    return next();
  };
}
