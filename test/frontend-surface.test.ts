import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { networkInterfaces, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocket } from "ws";
import { loadConfig } from "../src/config.js";
import { documentIdOf, loadTrustedDocuments } from "../src/trusted-documents.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import { killAllServers, type RunningServer, startServer, waitReady } from "./helpers/server.js";
import { mintToken, testSecret } from "./helpers/tokens.js";

/**
 * What a frontend needs from the service besides the API itself: the
 * printed schema (for codegen), trusted documents, the development
 * sign-in (only on the local secret), and the web app's files.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const clientManifest = JSON.parse(
  await readFile(path.join(root, "client/gql/persisted-documents.json"), "utf8"),
) as Record<string, string>;
const restManifest = JSON.parse(await readFile(path.join(root, "src/gql/persisted-documents.json"), "utf8")) as Record<
  string,
  string
>;
const [labelsId] = Object.entries(clientManifest).find(([, text]) => text.startsWith("fragment LabelFields")) ?? [];

interface GraphQLAnswer {
  status: number;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function post(t: TestApp, body: unknown, token?: string): Promise<GraphQLAnswer> {
  const response = await t.request("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as GraphQLAnswer["body"] };
}

const codes = (answer: GraphQLAnswer) => (answer.body.errors ?? []).map((error) => error.extensions?.code);

describe("the printed schema at /graphql/schema.graphql", () => {
  it("is the committed schema.graphql, in production too (where introspection is off), with an ETag", async () => {
    const t = await startTestApp({ NODE_ENV: "production" });
    try {
      const response = await t.request("/graphql/schema.graphql");
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await response.text()).toBe(await readFile(path.join(root, "schema.graphql"), "utf8"));
      const etag = response.headers.get("etag");
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await t.request("/graphql/schema.graphql", { headers: { "if-none-match": String(etag) } });
      expect(again.status).toBe(304);
      // Introspection itself stays off.
      const token = await mintToken("schema-reader");
      expect(codes(await post(t, { query: "{ __schema { types { name } } }" }, token))).not.toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe("trusted documents", () => {
  let open: TestApp;
  let only: TestApp;
  let token: string;
  beforeAll(async () => {
    [open, only] = await Promise.all([startTestApp(), startTestApp({ TRUSTED_DOCUMENTS: "true" })]);
    token = await mintToken("trusted-docs");
  });
  afterAll(() => Promise.all([open?.close(), only?.close()]));

  it("codegen's manifests cover the client's operations and the REST layer's, keyed by the sha256 of their text", () => {
    expect(Object.keys(clientManifest).length).toBeGreaterThanOrEqual(14);
    expect(Object.values(restManifest).some((text) => text.includes("query RestListTasks"))).toBe(true);
    for (const [id, text] of Object.entries({ ...clientManifest, ...restManifest })) {
      expect(documentIdOf(text)).toBe(id);
    }
  });

  it("off (the default): any valid operation runs, and a documentId resolves to its document", async () => {
    expect((await post(open, { query: "{ viewer { id } }" }, token)).body.data).toEqual({
      viewer: { id: "trusted-docs" },
    });
    expect((await post(open, { documentId: labelsId }, token)).body.data).toEqual({ labels: [] });
    // Apollo's persisted-query extension, with the bare hash.
    const apollo = { extensions: { persistedQuery: { version: 1, sha256Hash: String(labelsId).slice(7) } } };
    expect((await post(open, apollo, token)).body.data).toEqual({ labels: [] });
    const unknown = await post(open, { documentId: `sha256:${"0".repeat(64)}` }, token);
    expect(unknown.status).toBe(400);
    expect(codes(unknown)).toEqual(["PERSISTED_DOCUMENT_NOT_FOUND"]);
    expect(unknown.body.errors?.[0]?.message).toMatch(/documentId/);
  });

  it("on: refuses text that is not a known document with 403, and runs known ones by id or by text", async () => {
    const refused = await post(only, { query: "{ viewer { id } }" }, token);
    expect(refused.status).toBe(403);
    expect(codes(refused)).toEqual(["DOCUMENT_NOT_TRUSTED"]);
    expect(refused.body.errors?.[0]?.message).toMatch(/trusted documents/);
    expect(refused.body.data ?? null).toBeNull();

    expect((await post(only, { documentId: labelsId }, token)).body.data).toEqual({ labels: [] });
    const text = String(clientManifest[String(labelsId)]);
    expect((await post(only, { query: text }, token)).body.data).toEqual({ labels: [] });
    // The same document as a person writes it (other spacing, other field order) is the same document.
    const written =
      "query Labels {\n  labels { ...LabelFields }\n}\nfragment LabelFields on Label { taskCount name id color }";
    expect((await post(only, { query: written }, token)).body.data).toEqual({ labels: [] });
    // One field more is another document.
    const more = written.replace("taskCount", "taskCount createdAt");
    expect(codes(await post(only, { query: more }, token))).toEqual(["DOCUMENT_NOT_TRUSTED"]);
    // Garbage is refused as untrusted before anything parses it for execution.
    expect(codes(await post(only, { query: "{{{{" }, token))).toEqual(["DOCUMENT_NOT_TRUSTED"]);
  });

  it("on: REST still works (its operations are trusted), and GraphiQL's page still loads", async () => {
    const rest = await only.request("/api/trusted-docs/tasks", { headers: { authorization: `Bearer ${token}` } });
    expect(rest.status).toBe(200);
    const page = await only.request("/graphql", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("<html");
  });

  it("loads extra manifests (TRUSTED_DOCUMENTS_FILES), and refuses to start on a file that is not one", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-manifest-"));
    const extra = path.join(dir, "other-app.json");
    const text = "query OtherAppViewer { viewer { id } }";
    await writeFile(extra, JSON.stringify({ [documentIdOf(text)]: text }));
    const t = await startTestApp({ TRUSTED_DOCUMENTS: "true", TRUSTED_DOCUMENTS_FILES: extra });
    try {
      expect((await post(t, { query: text }, token)).body.data).toEqual({ viewer: { id: "trusted-docs" } });
      expect((await post(t, { documentId: documentIdOf(text) }, token)).body.data).toEqual({
        viewer: { id: "trusted-docs" },
      });
    } finally {
      await t.close();
    }
    const broken = path.join(dir, "broken.json");
    await writeFile(broken, JSON.stringify(["not", "a", "manifest"]));
    await expect(loadTrustedDocuments([broken])).rejects.toThrow(/persisted-documents manifest/);
    expect(() => loadConfig({ TRUSTED_DOCUMENTS: "maybe" })).toThrow(/TRUSTED_DOCUMENTS/);
  });
});

describe("trusted documents over WebSocket", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      AUTH_SECRET: testSecret,
      TRUSTED_DOCUMENTS: "true",
      PGLITE_DATA_DIR: "memory://",
      LOG_LEVEL: "info",
      RATE_LIMIT_IP: "0",
      RATE_LIMIT_USER: "0",
    });
    await waitReady(server);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    killAllServers();
  });

  it("refuses a subscription whose text is not a known document, and runs the client's own", async () => {
    const token = await mintToken("trusted-ws");
    const socket = new WebSocket(`${server.url.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
    const messages: { id?: string; type: string; payload?: unknown }[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    await new Promise((resolve) => socket.once("open", resolve));
    socket.send(JSON.stringify({ type: "connection_init", payload: { Authorization: `Bearer ${token}` } }));
    const waitFor = async (match: (m: (typeof messages)[number]) => boolean) => {
      for (let i = 0; i < 200; i++) {
        const found = messages.find(match);
        if (found) return found;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`no such message in ${JSON.stringify(messages)}`);
    };
    await waitFor((m) => m.type === "connection_ack");
    socket.send(
      JSON.stringify({ id: "a", type: "subscribe", payload: { query: "subscription { taskEvents { cursor } }" } }),
    );
    const refused = await waitFor((m) => m.id === "a" && m.type === "error");
    expect(JSON.stringify(refused.payload)).toContain("DOCUMENT_NOT_TRUSTED");

    const [, subscription] =
      Object.entries(clientManifest).find(([, text]) => text.includes("subscription TaskEvents")) ?? [];
    socket.send(JSON.stringify({ id: "b", type: "subscribe", payload: { query: subscription, variables: {} } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fetch(`${server.url}/api/trusted-ws/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "seen live" }),
    });
    const event = await waitFor((m) => m.id === "b" && m.type === "next");
    expect(JSON.stringify(event.payload)).toContain("seen live");
    socket.close();
  });
});

describe("the development sign-in, POST /auth/dev-token", () => {
  it("exists only on the local development secret, and signs tokens the service accepts", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-dev-"));
    const t = await startTestApp({ AUTH_SECRET: "", LOCAL_SECRET_FILE: path.join(dir, "secret") });
    try {
      const signIn = (body: unknown, headers: Record<string, string> = { "content-type": "application/json" }) =>
        t.request("/auth/dev-token", { method: "POST", headers, body: JSON.stringify(body) });
      const response = await signIn({ user: "ada" });
      expect(response.status).toBe(200);
      expect(response.headers.get("cache-control")).toBe("no-store");
      const { token, expiresAt, userId } = (await response.json()) as Record<string, string>;
      expect(userId).toBe("ada");
      expect(Date.parse(String(expiresAt))).toBeGreaterThan(Date.now());
      const viewer = await post(t, { query: "{ viewer { id } }" }, token);
      expect(viewer.body.data).toEqual({ viewer: { id: "ada" } });

      for (const user of ["", "a b", "x".repeat(65), "../etc", 42]) {
        const bad = await signIn({ user });
        expect(bad.status).toBe(400);
        expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("BAD_USER_INPUT");
      }
      expect((await signIn({ user: "ada" }, { "content-type": "text/plain" })).status).toBe(415);
    } finally {
      await t.close();
    }
  });

  it("is absent with a real auth service's secret (and production refuses the local secret outright)", async () => {
    const t = await startTestApp({ AUTH_SECRET: testSecret });
    try {
      const response = await t.request("/auth/dev-token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "mallory" }),
      });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("NOT_FOUND");
    } finally {
      await t.close();
    }
    expect(() => loadConfig({ NODE_ENV: "production" })).toThrow(/AUTH_JWKS_URL or AUTH_SECRET/);
  });
});

describe("the development sign-in from another machine", () => {
  // An address of this machine that is not loopback: what another machine on the network would connect to.
  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address && address.family === "IPv4" && !address.internal)?.address;
  let server: RunningServer;
  beforeAll(async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "tasks-api-lan-"));
    server = await startServer({
      HOST: "0.0.0.0",
      LOCAL_SECRET_FILE: path.join(dir, "secret"),
      PGLITE_DATA_DIR: "memory://",
      LOG_LEVEL: "info",
    });
    await waitReady(server);
  }, 90_000);
  afterAll(async () => {
    await server?.stop();
    killAllServers();
  });

  it("is refused (403) over the network, and answers on localhost", async () => {
    const signIn = (base: string) =>
      fetch(`${base}/auth/dev-token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ user: "ada" }),
      });
    const port = new URL(server.url).port;
    expect((await signIn(`http://127.0.0.1:${port}`)).status).toBe(200);
    expect(external, "this machine has a network address").toBeDefined();
    const remote = await signIn(`http://${external}:${port}`);
    expect(remote.status).toBe(403);
    expect(((await remote.json()) as { error: { message: string } }).error.message).toMatch(/this machine only/);
  });
});

describe("the web app's files", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it("serves the page with a strict policy, and its hashed assets for good", async () => {
    const page = await t.request("/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).not.toContain("unsafe-inline");
    const html = await page.text();
    const script = /<script type="module" src="(\/assets\/app-[\w]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await t.request(String(script));
    expect(asset.status).toBe(200);
    expect(asset.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(asset.headers.get("cache-control")).toContain("immutable");
  });

  it("answers 404 for anything else under /assets, including paths that try to leave it", async () => {
    for (const probe of ["/assets/nope.js", "/assets/..%2f..%2fpackage.json", "/assets/%2e%2e%2fpackage.json"]) {
      const response = await t.request(probe);
      expect(response.status, probe).toBe(404);
      expect(await response.text()).not.toContain('"name": "tasks-api"');
    }
  });
});
