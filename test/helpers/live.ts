import { WebSocket } from "ws";
import type { TaskEventsSubscription } from "../gql/graphql.js";
import { TaskEvents } from "./operations.js";

/** What one message of a live stream carries: an event, or the errors that ended the stream. */
export interface StreamMessage {
  data?: TaskEventsSubscription | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

export interface LiveStream {
  /** The HTTP status and headers of the SSE response (undefined for WebSocket). */
  response?: Response;
  /** The next message, or an error after `timeoutMs`. */
  next(timeoutMs?: number): Promise<StreamMessage>;
  /** The next `count` events' data, failing on an error message. */
  take(count: number, timeoutMs?: number): Promise<TaskEventsSubscription["taskEvents"][]>;
  /** Whether the server has ended the stream. */
  readonly ended: boolean;
  /** Nothing arrives within `ms` (for "sees none of it"). */
  quiet(ms: number): Promise<boolean>;
  close(): void;
}

/** A queue that the reader fills and `next` drains. */
function messageQueue() {
  const messages: StreamMessage[] = [];
  const waiting: ((message: StreamMessage) => void)[] = [];
  let ended = false;
  const push = (message: StreamMessage) => {
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else messages.push(message);
  };
  const stream: Omit<LiveStream, "close" | "response"> = {
    get ended() {
      return ended;
    },
    next(timeoutMs = 10_000) {
      const queued = messages.shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const index = waiting.indexOf(deliver);
          if (index >= 0) waiting.splice(index, 1);
          reject(new Error(`no stream message within ${timeoutMs} ms`));
        }, timeoutMs);
        const deliver = (message: StreamMessage) => {
          clearTimeout(timer);
          resolve(message);
        };
        waiting.push(deliver);
      });
    },
    async take(count, timeoutMs = 10_000) {
      const events: TaskEventsSubscription["taskEvents"][] = [];
      while (events.length < count) {
        const message = await stream.next(timeoutMs);
        if (message.errors || !message.data) throw new Error(`stream error: ${JSON.stringify(message)}`);
        events.push(message.data.taskEvents);
      }
      return events;
    },
    async quiet(ms) {
      if (messages.length > 0) return false;
      try {
        messages.unshift(await stream.next(ms));
        return false;
      } catch {
        return true;
      }
    },
  };
  return {
    stream,
    push,
    end: () => {
      ended = true;
    },
  };
}

/**
 * Subscribes to `taskEvents` over Server-Sent Events, as graphql-sse and
 * Yoga's own clients do (POST with Accept: text/event-stream). `fetcher` is
 * the app's fetch (tests without a port) or a real HTTP fetch.
 */
export async function subscribeSse(
  fetcher: (path: string, init: RequestInit) => Promise<Response>,
  token: string,
  variables: { after?: string | null } = {},
): Promise<LiveStream> {
  const abort = new AbortController();
  const response = await fetcher("/graphql", {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ query: TaskEvents.toString(), variables }),
    signal: abort.signal,
  });
  const { stream, push, end } = messageQueue();
  const reader = response.body?.getReader();
  if (reader) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let boundary = buffer.indexOf("\n\n");
          while (boundary >= 0) {
            const block = buffer.slice(0, boundary);
            buffer = buffer.slice(boundary + 2);
            boundary = buffer.indexOf("\n\n");
            const lines = block.split("\n");
            const event = lines
              .find((line) => line.startsWith("event:"))
              ?.slice(6)
              .trim();
            const data = lines
              .filter((line) => line.startsWith("data:"))
              .map((line) => line.slice(5).trim())
              .join("\n");
            if (event === "next" && data) push(JSON.parse(data) as StreamMessage);
          }
        }
      } catch {
        // Aborted by close().
      } finally {
        end();
      }
    })();
  } else end();
  // Assigned, not spread: `ended` stays a live getter.
  return Object.assign(stream, {
    response,
    close: () => {
      // Cancelling the body is what a going-away client does to the server's stream (in-process there is no socket).
      reader?.cancel().catch(() => {});
      abort.abort();
    },
  });
}

/** Subscribes to `taskEvents` over WebSocket with the graphql-ws protocol, the token in connectionParams. */
export async function subscribeWs(
  baseUrl: string,
  token: string,
  variables: { after?: string | null } = {},
): Promise<LiveStream & { closeCode(): Promise<number> }> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
  const { stream, push, end } = messageQueue();
  const closed = new Promise<number>((resolve) =>
    socket.once("close", (code) => {
      end();
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.once("open", () => {
      socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    });
    socket.on("message", (raw) => {
      const message = JSON.parse(String(raw)) as { type: string; payload?: unknown };
      if (message.type === "connection_ack") {
        socket.send(
          JSON.stringify({ id: "1", type: "subscribe", payload: { query: TaskEvents.toString(), variables } }),
        );
        resolve();
      } else if (message.type === "next") push(message.payload as StreamMessage);
      else if (message.type === "error") push({ errors: message.payload as NonNullable<StreamMessage["errors"]> });
      else if (message.type === "ping") socket.send(JSON.stringify({ type: "pong" }));
    });
    void closed.then((code) => reject(new Error(`socket closed with ${code} before connection_ack`)));
  });
  return Object.assign(stream, { close: () => socket.close(), closeCode: () => closed });
}
