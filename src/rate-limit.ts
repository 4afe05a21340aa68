import { Redis } from "ioredis";
import { RateLimitedError } from "./errors.js";

/**
 * Fixed-window request counting: each key may make `limit` requests per
 * window. In memory for one instance; in Redis when several instances must
 * enforce one limit together.
 */
export interface RateLimiter {
  /** Counts one request for `key`; throws RateLimitedError when over the limit. */
  take(key: string, limit: number): Promise<void>;
  close(): Promise<void>;
}

export function createRateLimiter({
  windowMs,
  redisUrl,
  prefix = "tasks-api:rate:",
  onError = () => {},
}: {
  windowMs: number;
  redisUrl?: string | undefined;
  prefix?: string;
  onError?: (error: unknown) => void;
}): RateLimiter {
  return redisUrl ? redisLimiter(windowMs, redisUrl, prefix, onError) : memoryLimiter(windowMs);
}

function windowOf(windowMs: number) {
  const now = Date.now();
  const start = now - (now % windowMs);
  return { start, retryAfterSeconds: Math.max(1, Math.ceil((start + windowMs - now) / 1000)) };
}

function memoryLimiter(windowMs: number): RateLimiter {
  let current = 0;
  let counts = new Map<string, number>();
  return {
    async take(key, limit) {
      const { start, retryAfterSeconds } = windowOf(windowMs);
      // A new window forgets the old one wholesale: memory stays bounded by one window's keys.
      if (start !== current) {
        current = start;
        counts = new Map();
      }
      const count = (counts.get(key) ?? 0) + 1;
      counts.set(key, count);
      if (count > limit) throw new RateLimitedError(retryAfterSeconds);
    },
    async close() {},
  };
}

function redisLimiter(windowMs: number, url: string, prefix: string, onError: (error: unknown) => void): RateLimiter {
  // Fail fast and open: a limiter that cannot reach Redis lets requests
  // through (and reports it) rather than taking the API down with it.
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  redis.on("error", onError);
  let connecting: Promise<void> | undefined;
  return {
    async take(key, limit) {
      connecting ??= redis.connect().catch(() => {
        connecting = undefined;
      });
      await connecting;
      const { start, retryAfterSeconds } = windowOf(windowMs);
      const redisKey = `${prefix}${start}:${key}`;
      let count: number;
      try {
        // One round trip: count, and make sure the window's key expires with it.
        const results = await redis.multi().incr(redisKey).pexpire(redisKey, windowMs, "NX").exec();
        count = Number(results?.[0]?.[1] ?? 0);
      } catch (error) {
        onError(error);
        return;
      }
      if (count > limit) throw new RateLimitedError(retryAfterSeconds);
    },
    async close() {
      redis.disconnect();
    },
  };
}
