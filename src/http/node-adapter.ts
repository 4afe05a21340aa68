import type { Http2Bindings, HttpBindings } from "@hono/node-server";
import type { Context } from "hono";

/**
 * Working with @hono/node-server's fast path, each measured in W1 profiles.
 * The adapter writes a response whose body is a string in this runtime's own
 * Response in one go; any other body (a stream, or another library's
 * Response class) it reads chunk by chunk: the re-built responses cost
 * 2-3 % of the profile and the chunked write 1-3 % more. A request body read
 * as a stream makes it build a full undici Request first: 9 % of the W1
 * GraphQL profile, 0.4 % when read in one go.
 */

/** What @hono/node-server hands the app with each request. */
export type NodeBindings = HttpBindings | Http2Bindings;

/** The Node request behind this one, when it came through a socket (not through `app.fetch` alone). */
function nodeIncoming(c: Context): NodeBindings["incoming"] | undefined {
  return (c.env as Partial<NodeBindings> | undefined)?.incoming;
}

/** The peer's address as the socket sees it; requests made without a socket (tests) share one key. */
export function remoteAddress(c: Context): string {
  return nodeIncoming(c)?.socket?.remoteAddress ?? "local";
}

/**
 * Whether the request's size is known from its Content-Length alone. Behind
 * Node's HTTP parser a Content-Length is binding (the parser reads that many
 * bytes and no more), so such a body can be judged by its header and left
 * for the handler to read in one go. Chunked bodies, and requests made
 * without a socket (tests), have to be counted as they arrive.
 */
export function declaredBodySize(c: Context): number | undefined {
  const declared = c.req.header("content-length");
  if (declared === undefined || !/^\d{1,15}$/.test(declared)) return undefined;
  if (c.req.header("transfer-encoding") !== undefined || nodeIncoming(c) === undefined) return undefined;
  return Number(declared);
}

/**
 * Sets a header on the response a handler has made. Hono's `c.header()` at
 * this point rebuilds the response around its body as a stream.
 */
export function setResponseHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    // Immutable headers (a Response from fetch()): let Hono copy the response.
    c.header(name, value);
  }
}

/**
 * Yoga answers with its own Response class, which the adapter can only
 * stream out; the same text in this runtime's Response is written in one
 * go. A live stream (SSE, multipart) stays a stream: its body is passed on
 * chunk by chunk as Yoga writes it.
 */
export async function asNativeResponse(response: Response): Promise<Response> {
  const type = response.headers.get("content-type") ?? "";
  if (type.startsWith("text/event-stream") || type.startsWith("multipart/mixed")) {
    const source = response.body?.getReader();
    // Pulled one chunk at a time; a client that goes away cancels Yoga's
    // stream (which ends the subscription) and nothing is written after.
    const body = source
      ? new ReadableStream<Uint8Array>({
          async pull(controller) {
            const { done, value } = await source.read();
            if (done) controller.close();
            else controller.enqueue(value);
          },
          cancel: (reason) => source.cancel(reason),
        })
      : null;
    return new Response(body, { status: response.status, headers: response.headers });
  }
  const text = await response.text();
  const native = new Response(text, { status: response.status, headers: response.headers });
  // Known here at no cost: lets compression skip small answers.
  native.headers.set("content-length", String(Buffer.byteLength(text)));
  return native;
}
