import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { RateLimitedError } from "./errors.js";

/**
 * Request counting with rate-limiter-flexible: each key may make `limit`
 * requests per window. In memory for one instance; in Redis when several
 * instances must enforce one limit together.
 */
export interface RateLimiter {
  /** Counts one request for `key`; throws RateLimitedError when over the limit. */
  take(key: string, limit: number): Promise<void>;
  /** Resolves once Redis is connected, or after its connect timeout: the first requests then count together. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface RateLimiterOptions {
  windowMs: number;
  redisUrl?: string | undefined;
  prefix?: string;
  /** How long one Redis call may take before the request goes on without it. */
  redisTimeoutMs?: number;
  /** After a Redis failure, how long Redis is not asked (the in-memory count stands in). */
  redisCooldownMs?: number;
  /** Told of each Redis failure that opens the circuit. */
  onError?: (error: unknown) => void;
}

export function createRateLimiter({
  windowMs,
  redisUrl,
  prefix = "tasks-api:rate",
  redisTimeoutMs = 250,
  redisCooldownMs = 5_000,
  onError = () => {},
}: RateLimiterOptions): RateLimiter {
  const duration = Math.max(1, Math.round(windowMs / 1000));
  const memory = perLimit((points) => new RateLimiterMemory({ points, duration, keyPrefix: prefix }));
  if (redisUrl === undefined) {
    return { take: (key, limit) => consume(memory(limit), key), ready: async () => {}, close: async () => {} };
  }

  const connectTimeoutMs = 1_000;
  // Every call has a deadline, and nothing waits for a connection: a Redis
  // that is down, or up but not answering, costs a request at most
  // `redisTimeoutMs`, once; then the circuit keeps requests away from it.
  const redis = new Redis(redisUrl, {
    connectTimeout: connectTimeoutMs,
    commandTimeout: redisTimeoutMs,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(5_000, 100 * 2 ** attempt),
  });
  // A connection that fails is retried with backoff; meanwhile requests are counted here (below).
  redis.on("error", () => {});
  const shared = perLimit(
    (points) =>
      new RateLimiterRedis({ storeClient: redis, points, duration, keyPrefix: prefix, rejectIfRedisNotReady: true }),
  );
  // A circuit breaker is not part of rate-limiter-flexible (its insurance
  // limiter would still ask the hung Redis on every request): this is it.
  // While the connection is not ready, requests are counted here at no cost
  // (nothing is sent); a call that fails on a ready connection, typically a
  // timeout, keeps Redis out of the way for `redisCooldownMs`.
  let pausedUntil = 0;
  let lastReported = 0;
  return {
    async take(key, limit) {
      if (redis.status !== "ready" || Date.now() < pausedUntil) return consume(memory(limit), key);
      try {
        return await consume(shared(limit), key);
      } catch (error) {
        if (error instanceof RateLimitedError) throw error;
        pausedUntil = Date.now() + redisCooldownMs;
        if (Date.now() - lastReported > redisCooldownMs) {
          lastReported = Date.now();
          onError(error);
        }
        return consume(memory(limit), key);
      }
    },
    ready: () =>
      new Promise<void>((resolve) => {
        if (redis.status === "ready") return resolve();
        const timer = setTimeout(resolve, connectTimeoutMs);
        timer.unref();
        redis.once("ready", () => {
          clearTimeout(timer);
          resolve();
        });
      }),
    async close() {
      redis.disconnect();
    },
  };
}

/** One limiter per distinct limit (per user, per address), made on first use. */
function perLimit<T>(make: (points: number) => T): (points: number) => T {
  const limiters = new Map<number, T>();
  return (points) => {
    let limiter = limiters.get(points);
    if (limiter === undefined) {
      limiter = make(points);
      limiters.set(points, limiter);
    }
    return limiter;
  };
}

/** Counts one request; over the limit is a RateLimitedError, anything else (a store failure) is rethrown. */
async function consume(limiter: RateLimiterMemory | RateLimiterRedis, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (rejection) {
    if (rejection instanceof RateLimiterRes) {
      throw new RateLimitedError(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
    }
    throw rejection;
  }
}
