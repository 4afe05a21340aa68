import { Redis } from "ioredis";
import pg from "pg";
import type { DatabaseConfig } from "./config.js";
import { changeChannel, headsOf } from "./db/changes.js";
import type { PrismaClient } from "./generated/prisma/client.js";
import type { Logger } from "./logger.js";

/**
 * The bell of the live feed. The change log (src/db/changes.ts) is the
 * truth; this only tells the open streams of a user that their log may have
 * grown, so they read it. A lost ring costs time, never an event: every
 * `pollMs` one query reads the latest cursor of every user with an open
 * stream in this process, and wakes those whose log moved.
 *
 * Between processes and instances the bell rings over Redis pub/sub when
 * REDIS_URL is set, else over PostgreSQL LISTEN/NOTIFY on a connection of
 * its own; on the embedded database (one process) it rings in-process.
 */
export interface ChangeHub {
  /** After a write has committed: wake the user's streams everywhere. */
  ring(userId: string): void;
  /** Calls `wake` whenever the user's log may have grown; returns the unsubscribe. */
  watch(userId: string, wake: () => void): () => void;
  /**
   * Takes one of the user's `max` places for an open stream in this process,
   * at once (before anything is awaited, so that concurrent subscriptions
   * cannot all pass the check); returns its release, or undefined when all
   * are taken.
   */
  reserve(userId: string, max: number): (() => void) | undefined;
  /**
   * Runs `read` once for every caller with the same `key` while it is in
   * flight: the streams of one user woken by one ring read the same part of
   * the log with one query instead of one each.
   */
  shareRead<T>(key: string, read: () => Promise<T>): Promise<T>;
  /** Calls `stop` when the process ends its streams (shutdown); returns the unregister. */
  onEnd(stop: () => void): () => void;
  /** Ends every stream this process serves. */
  endStreams(): void;
  /** Which way the bell rings between processes. */
  readonly transport: "redis" | "postgres" | "in-process";
  close(): Promise<void>;
}

export interface ChangeHubOptions {
  prisma: PrismaClient;
  database: DatabaseConfig;
  redisUrl?: string | undefined;
  pollMs: number;
  logger: Logger;
}

export async function createChangeHub({
  prisma,
  database,
  redisUrl,
  pollMs,
  logger,
}: ChangeHubOptions): Promise<ChangeHub> {
  const watchers = new Map<string, Set<() => void>>();
  /** Per watched user: the latest cursor the poll has seen. */
  const seen = new Map<string, bigint>();

  const wakeLocal = (userId: string) => {
    for (const wake of watchers.get(userId) ?? []) wake();
  };
  const wakeAll = () => {
    for (const userId of watchers.keys()) wakeLocal(userId);
  };

  const transport = redisUrl
    ? await redisTransport(redisUrl, wakeLocal, logger)
    : database.kind === "postgres"
      ? postgresTransport(database.url, database.connectTimeoutMs, wakeLocal, wakeAll, logger)
      : undefined;

  let polling = false;
  const poll = setInterval(async () => {
    if (polling || watchers.size === 0) return;
    polling = true;
    try {
      const heads = await headsOf(prisma, [...watchers.keys()]);
      for (const [userId, head] of heads) {
        if (seen.get(userId) !== head) {
          seen.set(userId, head);
          wakeLocal(userId);
        }
      }
    } catch (error) {
      logger.warn({ err: error }, "live feed: the fallback poll of the change log failed; retrying");
    } finally {
      polling = false;
    }
  }, pollMs);
  poll.unref();

  const places = new Map<string, number>();
  const stoppers = new Set<() => void>();
  const endStreams = () => {
    for (const stop of [...stoppers]) stop();
    stoppers.clear();
  };

  const reading = new Map<string, Promise<unknown>>();

  return {
    shareRead<T>(key: string, read: () => Promise<T>): Promise<T> {
      const current = reading.get(key);
      if (current) return current as Promise<T>;
      const started = read().finally(() => reading.delete(key));
      reading.set(key, started);
      return started;
    },
    reserve(userId, max) {
      const taken = places.get(userId) ?? 0;
      if (taken >= max) return undefined;
      places.set(userId, taken + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (places.get(userId) ?? 1) - 1;
        if (left <= 0) places.delete(userId);
        else places.set(userId, left);
      };
    },
    onEnd(stop) {
      stoppers.add(stop);
      return () => stoppers.delete(stop);
    },
    endStreams,
    transport: transport?.kind ?? "in-process",
    ring(userId) {
      wakeLocal(userId);
      transport?.publish(userId);
    },
    watch(userId, wake) {
      transport?.listen();
      let set = watchers.get(userId);
      if (set === undefined) {
        set = new Set();
        watchers.set(userId, set);
      }
      set.add(wake);
      return () => {
        set.delete(wake);
        if (set.size === 0 && watchers.get(userId) === set) {
          watchers.delete(userId);
          seen.delete(userId);
        }
      };
    },
    async close() {
      endStreams();
      clearInterval(poll);
      await transport?.close();
    },
  };
}

interface Transport {
  kind: "redis" | "postgres";
  /** Fire and forget: a failure only delays delivery until the next poll. */
  publish(userId: string): void;
  /** Starts listening, if it does not already (on the first stream). */
  listen(): void;
  close(): Promise<void>;
}

/** Redis pub/sub: one connection publishes, one subscribes; both have deadlines and reconnect with backoff. */
async function redisTransport(url: string, wake: (userId: string) => void, logger: Logger): Promise<Transport> {
  const options = {
    connectTimeout: 1_000,
    commandTimeout: 500,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt: number) => Math.min(5_000, 100 * 2 ** attempt),
  };
  const publisher = new Redis(url, options);
  // The subscriber must queue its SUBSCRIBE until it is connected, and resubscribes after reconnecting (ioredis does).
  const subscriber = new Redis(url, { ...options, enableOfflineQueue: true, commandTimeout: undefined });
  let warned = false;
  const onError = (error: unknown) => {
    if (warned) return;
    warned = true;
    logger.warn({ err: error }, "live feed: Redis unavailable; streams are woken by the poll of the change log");
  };
  publisher.on("error", onError);
  subscriber.on("error", onError);
  subscriber.on("ready", () => {
    warned = false;
  });
  subscriber.on("message", (_channel: string, userId: string) => wake(userId));
  subscriber.subscribe(changeChannel).catch(onError);
  return {
    kind: "redis",
    listen: () => {},
    publish: (userId) => {
      publisher.publish(changeChannel, userId).catch(onError);
    },
    close: async () => {
      publisher.disconnect();
      subscriber.disconnect();
    },
  };
}

/**
 * LISTEN on a connection of its own (a pooled connection cannot keep a
 * LISTEN), opened when this process gets its first stream, so that a process
 * serving none holds no connection beyond its pool; reconnects after a
 * failure. Writes NOTIFY by themselves, in their own statement (see
 * changeChannel), so publishing is a no-op here. A pooled endpoint (Neon's
 * -pooler host, PgBouncer in transaction mode) does not deliver
 * notifications: set REDIS_URL there.
 */
function postgresTransport(
  url: string,
  connectTimeoutMs: number,
  wake: (userId: string) => void,
  wakeAll: () => void,
  logger: Logger,
): Transport {
  let listener: pg.Client | undefined;
  let started = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const listen = async (attempt: number) => {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: connectTimeoutMs,
      query_timeout: 5_000,
      keepAlive: true,
      application_name: "tasks-api-live",
    });
    let failed = false;
    const again = (error: unknown) => {
      if (closed || failed) return;
      failed = true;
      const wasListening = listener === client;
      // Logged once per outage: when a working connection is lost, or the first reconnect fails.
      if (wasListening || attempt === 0) {
        logger.warn({ err: error }, "live feed: LISTEN connection lost; reconnecting (streams are polled meanwhile)");
      }
      client.end().catch(() => {});
      if (wasListening) listener = undefined;
      // After a connection that worked, start the backoff afresh.
      const next = wasListening ? 0 : attempt + 1;
      retry = setTimeout(() => void listen(next), Math.min(5_000, 100 * 2 ** next));
      retry.unref();
    };
    client.on("error", again);
    client.on("notification", (message) => {
      if (message.payload) wake(message.payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${changeChannel}`);
      if (closed) await client.end();
      else {
        listener = client;
        // Whatever committed before the LISTEN took hold (or while it was down) rang no bell here: read it now.
        wakeAll();
      }
    } catch (error) {
      again(error);
    }
  };
  return {
    kind: "postgres",
    publish: () => {},
    listen: () => {
      if (started || closed) return;
      started = true;
      void listen(0);
    },
    close: async () => {
      closed = true;
      clearTimeout(retry);
      await listener?.end().catch(() => {});
    },
  };
}
