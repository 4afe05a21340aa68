import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { subscribeSse, subscribeWs } from "./helpers/live.js";
import { CreateTask, TaskEvents } from "./helpers/operations.js";
import { killAllServers, type RunningServer, startServer, waitReady } from "./helpers/server.js";
import { mintToken, testSecret } from "./helpers/tokens.js";

/**
 * The live feed on a real port, as a new user runs it (one process, the
 * embedded database, no other service): GraphQL over WebSocket next to SSE
 * on /graphql, GET-style SSE, refusals over the socket, token expiry, and
 * streams ended on shutdown.
 */

const env = {
  AUTH_SECRET: testSecret,
  RATE_LIMIT_IP: "0",
  RATE_LIMIT_USER: "0",
  LOG_LEVEL: "info",
  NODE_ENV: "test",
  PGLITE_DATA_DIR: "memory://",
};

let server: RunningServer;
beforeAll(async () => {
  server = await startServer(env);
  await waitReady(server);
}, 90_000);
afterAll(async () => {
  await server?.stop();
  killAllServers();
});

async function user(name: string) {
  const id = `ws-${name}-${randomUUID().slice(0, 8)}`;
  return { id, token: await mintToken(id) };
}

async function create(token: string, title: string): Promise<{ id: string }> {
  const response = await fetch(`${server.url}/graphql`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ query: CreateTask.toString(), variables: { input: { title } } }),
  });
  const body = (await response.json()) as { data: { createTask: { id: string } } };
  return body.data.createTask;
}

describe("GraphQL over WebSocket (graphql-ws) on /graphql", () => {
  it("replays from a cursor, then streams writes made over HTTP and REST", async () => {
    const alice = await user("alice");
    const first = await create(alice.token, "first");
    const stream = await subscribeWs(server.url, alice.token, { after: "0" });
    try {
      expect((await stream.take(1))[0]).toMatchObject({ kind: "CREATED", taskId: first.id, cursor: "1" });
      const rest = await fetch(`${server.url}/api/${alice.id}/tasks/${first.id}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${alice.token}` },
      });
      expect(rest.status).toBe(204);
      expect((await stream.take(1))[0]).toMatchObject({ kind: "DELETED", taskId: first.id, version: 1, task: null });
    } finally {
      stream.close();
    }
  });

  it("refuses a socket without a valid token, and a bad cursor with a coded error", async () => {
    // Without a valid token the socket is closed at once with 4403 (graphql-ws's "Forbidden").
    for (const token of ["", "not-a-token", await mintToken("ws-expired", { expiresIn: -60 })]) {
      await expect(subscribeWs(server.url, token)).rejects.toThrow(/closed with 4403/);
    }
    const bob = await user("bob");
    const beyond = await subscribeWs(server.url, bob.token, { after: "99" });
    expect((await beyond.next()).errors?.map((error) => error.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
    beyond.close();
  });

  it("ends the stream with UNAUTHENTICATED when the token expires", async () => {
    const carol = await user("carol");
    const token = await mintToken(carol.id, { expiresIn: 2 });
    const stream = await subscribeWs(server.url, token);
    try {
      const message = await stream.next(8_000);
      expect(message.errors?.map((error) => error.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
      expect(message.errors?.[0]?.message).toMatch(/expired/);
    } finally {
      stream.close();
    }
  });

  it("applies the same validation and cost limits as HTTP", async () => {
    const dan = await user("dan");
    const socket = await subscribeWs(server.url, dan.token);
    socket.close();
    // A raw socket with a document too deep for the depth limit.
    const { WebSocket } = await import("ws");
    const ws = new WebSocket(`${server.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    const messages: { type: string; payload?: unknown }[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once("error", reject);
      ws.on("open", () =>
        ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${dan.token}` } })),
      );
      ws.on("message", (raw) => {
        const message = JSON.parse(String(raw)) as { type: string; payload?: unknown };
        messages.push(message);
        if (message.type === "connection_ack") {
          const brackets = `subscription { taskEvents(after: ${"[".repeat(70)}"1"${"]".repeat(70)}) { cursor } }`;
          ws.send(JSON.stringify({ id: "brackets", type: "subscribe", payload: { query: brackets } }));
          const deep = `subscription { taskEvents { task { owner { tasks { edges { node { owner { tasks { edges { node { id } } } } } } } } } } }`;
          ws.send(JSON.stringify({ id: "deep", type: "subscribe", payload: { query: deep } }));
        }
        if (messages.filter((m) => m.type === "error").length === 2) resolve();
      });
    });
    ws.close();
    const errors = messages.filter((message) => message.type === "error");
    expect(JSON.stringify(errors)).toContain("DEPTH_LIMIT_EXCEEDED");
    expect(JSON.stringify(errors)).toMatch(/nested more than 64 levels/);
  });
});

describe("Server-Sent Events, GET form", () => {
  it("streams with the operation in the query string, as graphql-sse's distinct connections do", async () => {
    const erin = await user("erin");
    const query = encodeURIComponent(TaskEvents.toString());
    const response = await fetch(`${server.url}/graphql?query=${query}`, {
      headers: { authorization: `Bearer ${erin.token}`, accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const reader = response.body?.getReader();
    const made = await create(erin.token, "via GET stream");
    let text = "";
    const decoder = new TextDecoder();
    while (!text.includes(made.id)) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      text += decoder.decode(chunk.value);
    }
    await reader?.cancel();
    expect(text).toContain(made.id);
  });
});

describe("shutdown", () => {
  it("ends SSE and WebSocket streams so that clients resume elsewhere, and exits 0", async () => {
    const own = await startServer(env);
    await waitReady(own);
    const frank = await user("frank");
    const viaSse = await subscribeSse((path, init) => fetch(`${own.url}${path}`, init), frank.token);
    const viaWs = await subscribeWs(own.url, frank.token);
    // Both are open (each receives the first event) before the signal.
    const made = await fetch(`${own.url}/graphql`, {
      method: "POST",
      headers: { authorization: `Bearer ${frank.token}`, "content-type": "application/json" },
      body: JSON.stringify({ query: CreateTask.toString(), variables: { input: { title: "x" } } }),
    });
    expect(made.status).toBe(200);
    await viaSse.take(1);
    await viaWs.take(1);
    const exited = own.stop("SIGTERM");
    expect(await viaWs.closeCode()).toBe(1001);
    await expect.poll(() => viaSse.ended, { timeout: 10_000 }).toBe(true);
    expect(await exited).toBe(0);
  });
});
