import type { OpenAPIV3_1 } from "openapi-types";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openApiDocument } from "../src/rest/openapi.js";
import { startTestApp, type TestApp } from "./helpers/app.js";
import {
  checkAgainstContract,
  compileAt,
  createContractAjv,
  errorOf,
  listOf,
  type RestResponse,
  rest,
} from "./helpers/rest.js";
import { mintToken } from "./helpers/tokens.js";

/**
 * The contract itself (/api/openapi.json), the page that shows it
 * (/api/docs), and which browser origins may call the API (CORS).
 */

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
type Method = (typeof methods)[number];

const statusCodes: Record<string, string> = {
  "400": "BAD_USER_INPUT",
  "401": "UNAUTHENTICATED",
  "403": "FORBIDDEN",
  "404": "NOT_FOUND",
  "405": "METHOD_NOT_ALLOWED",
  "410": "CURSOR_EXPIRED",
  "412": "PRECONDITION_FAILED",
  "413": "PAYLOAD_TOO_LARGE",
  "415": "UNSUPPORTED_MEDIA_TYPE",
  "422": "IDEMPOTENCY_KEY_REUSED",
  "429": "RATE_LIMITED",
  "500": "INTERNAL_SERVER_ERROR",
  "503": "SERVICE_UNAVAILABLE",
};

async function servedDocument(): Promise<OpenAPIV3_1.Document> {
  const res = await t.request("/api/openapi.json");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const body: unknown = await res.json();
  if (typeof body !== "object" || body === null || !("openapi" in body)) throw new Error("not an OpenAPI document");
  return body as OpenAPIV3_1.Document;
}

/** Every operation of the document, with where it lives. */
function operationsOf(document: OpenAPIV3_1.Document) {
  const found: {
    method: Method;
    path: string;
    operation: OpenAPIV3_1.OperationObject;
    item: OpenAPIV3_1.PathItemObject;
  }[] = [];
  for (const [path, item] of Object.entries(document.paths ?? {})) {
    if (item === undefined) continue;
    for (const method of methods) {
      const operation = item[method];
      if (operation !== undefined) found.push({ method, path, operation, item });
    }
  }
  return found;
}

function isReference(value: unknown): value is OpenAPIV3_1.ReferenceObject {
  return typeof value === "object" && value !== null && "$ref" in value;
}

describe("/api/openapi.json", () => {
  it("serves the contract of src/rest/openapi.ts as OpenAPI 3.1.0", async () => {
    const document = await servedDocument();
    expect(document.openapi).toBe("3.1.0");
    expect(document).toEqual(JSON.parse(JSON.stringify(openApiDocument)));
    expect(document.info.title).toEqual(expect.any(String));
    expect(document.info.version).toEqual(expect.any(String));
  });

  it("documents exactly the six legacy REST operations and the change feed, each with a unique operationId", async () => {
    const operations = operationsOf(await servedDocument());
    expect(operations.map(({ method, path }) => `${method.toUpperCase()} ${path}`).sort()).toEqual(
      [
        "GET /api/{user_id}/tasks",
        "POST /api/{user_id}/tasks",
        "GET /api/{user_id}/tasks/{id}",
        "PUT /api/{user_id}/tasks/{id}",
        "DELETE /api/{user_id}/tasks/{id}",
        "PATCH /api/{user_id}/tasks/{id}/complete",
        "GET /api/{user_id}/tasks/changes",
      ].sort(),
    );
    const ids = operations.map(({ operation }) => operation.operationId);
    expect(ids.every((id) => typeof id === "string" && id !== "")).toBe(true);
    expect(new Set(ids).size).toBe(7);
  });

  it("declares every path parameter of every path template", async () => {
    for (const { path, operation, item } of operationsOf(await servedDocument())) {
      const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
        .filter((p): p is OpenAPIV3_1.ParameterObject => !isReference(p) && p.in === "path")
        .map((p) => p.name)
        .sort();
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      expect(declared, path).toEqual(inTemplate);
    }
  });

  it("requires the bearer scheme everywhere, with no operation opting out", async () => {
    const document = await servedDocument();
    const schemes = document.components?.securitySchemes ?? {};
    const bearerNames = Object.entries(schemes)
      .filter(
        ([, scheme]) => !isReference(scheme) && scheme.type === "http" && scheme.scheme.toLowerCase() === "bearer",
      )
      .map(([name]) => name);
    expect(bearerNames).toEqual(["bearerAuth"]);
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    for (const { method, path, operation } of operationsOf(document)) {
      if (operation.security === undefined) continue;
      expect(operation.security, `${method} ${path}`).toContainEqual({ bearerAuth: [] });
    }
  });

  it("documents the errors every route can give, with the headers that go with them", async () => {
    for (const { method, path, operation } of operationsOf(await servedDocument())) {
      const where = `${method.toUpperCase()} ${path}`;
      const responses = operation.responses ?? {};
      for (const status of ["401", "403", "405", "500", "503"]) expect(Object.keys(responses), where).toContain(status);
      const headersOf = (status: string) => {
        const response = responses[status];
        return response === undefined || isReference(response) ? [] : Object.keys(response.headers ?? {});
      };
      expect(headersOf("401"), where).toContain("WWW-Authenticate");
      expect(headersOf("405"), where).toContain("Allow");
      expect(headersOf("503"), where).toContain("Retry-After");
      if (method !== "post") expect(Object.keys(responses), where).toContain("400");
      if (operation.requestBody !== undefined) {
        for (const status of ["400", "413", "415"]) expect(Object.keys(responses), where).toContain(status);
      }
      const takesIfMatch = (operation.parameters ?? []).some((p) => !isReference(p) && p.name === "If-Match");
      expect(takesIfMatch, where).toBe(["put", "patch", "delete"].includes(method));
      if (takesIfMatch) expect(Object.keys(responses), where).toContain("412");
      if (path.includes("{id}")) expect(Object.keys(responses), where).toContain("404");
      for (const status of ["200", "201"]) {
        if (status in responses && path.includes("{id}")) expect(headersOf(status), where).toContain("ETag");
      }
      if ("201" in responses) expect(headersOf("201"), where).toEqual(expect.arrayContaining(["ETag", "Location"]));
    }
  });

  it("compiles in Ajv (JSON Schema 2020-12, strict), every $ref resolving", async () => {
    const document = await servedDocument();
    const ajv = createContractAjv(document);
    let compiled = 0;
    for (const name of Object.keys(document.components?.schemas ?? {})) {
      expect(compileAt(ajv, "components", "schemas", name)).toBeTypeOf("function");
      compiled++;
    }
    for (const { method, path, operation, item } of operationsOf(document)) {
      const at = (...rest: string[]) => compileAt(ajv, "paths", path, method, ...rest);
      (item.parameters ?? []).forEach((p, index) => {
        if (!isReference(p) && p.schema !== undefined) {
          expect(compileAt(ajv, "paths", path, "parameters", String(index), "schema")).toBeTypeOf("function");
          compiled++;
        }
      });
      (operation.parameters ?? []).forEach((p, index) => {
        if (!isReference(p) && p.schema !== undefined) {
          expect(at("parameters", String(index), "schema")).toBeTypeOf("function");
          compiled++;
        }
      });
      const body = operation.requestBody;
      if (body !== undefined && !isReference(body)) {
        for (const type of Object.keys(body.content)) {
          expect(at("requestBody", "content", type, "schema")).toBeTypeOf("function");
          compiled++;
        }
      }
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (isReference(response)) continue;
        for (const name of Object.keys(response.headers ?? {})) {
          expect(at("responses", status, "headers", name, "schema")).toBeTypeOf("function");
          compiled++;
        }
        for (const type of Object.keys(response.content ?? {})) {
          expect(at("responses", status, "content", type, "schema")).toBeTypeOf("function");
          compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(50);
  });

  it("has examples that match their own schemas and the status they are documented under", async () => {
    const document = await servedDocument();
    const ajv = createContractAjv(document);
    let examples = 0;
    for (const { method, path, operation } of operationsOf(document)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (isReference(response)) continue;
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (media.example === undefined) continue;
          const validate = compileAt(ajv, "paths", path, method, "responses", status, "content", type, "schema");
          expect(validate(media.example), `${method} ${path} ${status}: ${JSON.stringify(validate.errors)}`).toBe(true);
          expect(media.example, `${method} ${path} ${status}`).toMatchObject({ error: { code: statusCodes[status] } });
          examples++;
        }
      }
    }
    expect(examples).toBeGreaterThan(30);
  });

  it("answers in the error format for other methods on it", async () => {
    errorOf(await rest(t, "POST", "/api/openapi.json", { body: {} }), 404, "NOT_FOUND");
  });
});

describe("the contract checker of test/helpers/rest.ts", () => {
  const task = {
    id: "6f1c1d6e-4a59-4b43-9d3c-2a1e0c1f5b7a",
    user_id: "u",
    title: "t",
    description: null,
    is_completed: false,
    completed_at: null,
    created_at: "2026-01-01T00:00:00.000Z",
    updated_at: "2026-01-01T00:00:00.000Z",
    version: 1,
    due_date: null,
    due_at: null,
    priority: "none",
    labels: [],
  };
  const response = (status: number, body: unknown, headers: Record<string, string> = {}): RestResponse => {
    const text = body === null ? "" : JSON.stringify(body);
    const all = new Headers(headers);
    if (text !== "") all.set("content-type", "application/json");
    return { status, headers: all, body, text };
  };
  const taskPath = `/api/u/tasks/${task.id}`;
  const error = (code: string) => ({ error: { code, message: "m" } });

  it("accepts responses the contract documents", () => {
    expect(() =>
      checkAgainstContract("GET", taskPath, response(200, { data: task, meta: {} }, { etag: '"1"' })),
    ).not.toThrow();
    expect(() => checkAgainstContract("DELETE", taskPath, response(204, null))).not.toThrow();
    expect(() =>
      checkAgainstContract("POST", taskPath, response(405, error("METHOD_NOT_ALLOWED"), { allow: "GET, PUT, DELETE" })),
    ).not.toThrow();
  });

  it.each([
    ["an undocumented status", "GET", taskPath, response(418, error("NOT_FOUND"))],
    ["an extra field", "GET", taskPath, response(200, { data: { ...task, extra: 1 }, meta: {} }, { etag: '"1"' })],
    [
      "a missing field",
      "GET",
      taskPath,
      response(200, { data: { ...task, version: undefined }, meta: {} }, { etag: '"1"' }),
    ],
    ["a non-uuid id", "GET", taskPath, response(200, { data: { ...task, id: "x" }, meta: {} }, { etag: '"1"' })],
    ["a missing ETag", "GET", taskPath, response(200, { data: task, meta: {} })],
    ["an ETag of another version", "GET", taskPath, response(200, { data: task, meta: {} }, { etag: '"2"' })],
    ["a 201 without Location", "POST", "/api/u/tasks", response(201, { data: task, meta: {} }, { etag: '"1"' })],
    ["a 401 without WWW-Authenticate", "GET", "/api/u/tasks", response(401, error("UNAUTHENTICATED"))],
    ["a 503 without Retry-After", "GET", "/api/u/tasks", response(503, error("SERVICE_UNAVAILABLE"))],
    ["an undocumented error code", "GET", taskPath, response(404, error("GONE"))],
    ["a 204 with a body", "DELETE", taskPath, response(204, { data: task })],
    ["an undocumented method that is not 405", "POST", taskPath, response(404, error("NOT_FOUND"))],
    ["a 405 without Allow", "POST", taskPath, response(405, error("METHOD_NOT_ALLOWED"))],
    ["a 405 with a wrong Allow", "POST", taskPath, response(405, error("METHOD_NOT_ALLOWED"), { allow: "GET" })],
    ["an unknown path answering 200", "GET", "/api/u/other", response(200, { ok: true })],
    ["an unknown path answering another error format", "GET", "/api/u/other", response(404, { message: "x" })],
    [
      "a list without meta.total",
      "GET",
      "/api/u/tasks",
      response(200, { data: [], meta: { count: 0, limit: 1, next_cursor: null } }),
    ],
  ])("refuses %s", (_name, method, path, res) => {
    expect(() => checkAgainstContract(method, path, res)).toThrow(/Off-contract response/);
  });

  it("compiles strictly: a misspelt keyword is an error, not ignored", () => {
    const broken = { ...openApiDocument, components: { schemas: { Broken: { type: "string", minLenght: 1 } } } };
    expect(() => compileAt(createContractAjv(broken), "components", "schemas", "Broken")).toThrow(/minLenght/);
  });
});

describe("/api/docs", () => {
  it("is an HTML page that loads only same-origin assets, each served with the right content type", async () => {
    const res = await t.request("/api/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    const html = await res.text();

    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    const stylesheets = [...html.matchAll(/<link\b[^>]*\brel=["']?stylesheet["']?[^>]*>/gi)].map((m) => m[0]);
    const sources = scripts.map((m) => /\bsrc=["']([^"']+)["']/i.exec(m[1] ?? "")?.[1]);
    const hrefs = stylesheets.map((tag) => /\bhref=["']([^"']+)["']/i.exec(tag)?.[1]);
    // Every script is a file (no inline code, so a strict CSP works), and there is a stylesheet.
    expect(scripts.length).toBeGreaterThan(0);
    expect(stylesheets.length).toBeGreaterThan(0);
    for (const [index, script] of scripts.entries()) {
      expect(sources[index], script[0]).toEqual(expect.any(String));
      expect(script[2]?.trim(), script[0]).toBe("");
    }
    expect(html).not.toMatch(/(?:src|href)=["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);

    const assets = [...sources, ...hrefs].filter((url): url is string => typeof url === "string");
    expect(assets).toContain("/api/docs/init.js");
    for (const url of assets) {
      expect(new URL(url, "http://tasks.test").origin, url).toBe("http://tasks.test");
      const asset = await t.request(url);
      expect(asset.status, url).toBe(200);
      const type = asset.headers.get("content-type") ?? "";
      if (sources.includes(url)) expect(type, url).toMatch(/^(?:text|application)\/javascript\b/);
      else expect(type, url).toMatch(/^text\/css\b/);
      expect((await asset.text()).length, url).toBeGreaterThan(0);
    }
  });

  it("starts Swagger UI from /api/docs/init.js on the same-origin contract", async () => {
    const res = await t.request("/api/docs/init.js");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/javascript\b/);
    const script = await res.text();
    expect(script).toContain("SwaggerUIBundle(");
    expect(script).toContain('"/api/openapi.json"');
    expect(script).not.toMatch(/https?:\/\//);
  });

  it("serves Swagger UI's own files, and an error for any other file", async () => {
    const bundle = await t.request("/api/docs/swagger-ui-bundle.js");
    expect(bundle.status).toBe(200);
    expect(await bundle.text()).toContain("SwaggerUIBundle");
    for (const path of [
      "/api/docs/package.json",
      "/api/docs/..%2Fpackage.json",
      "/api/docs/index.html",
      "/api/docs/x/y",
    ]) {
      errorOf(await rest(t, "GET", path), 404, "NOT_FOUND");
    }
  });
});

describe("CORS", () => {
  const allowed = "https://app.example.com";
  const evil = "https://evil.example";
  const preflight = (app: TestApp, origin: string, path = "/api/cors-user/tasks") =>
    app.request(path, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "PUT",
        "access-control-request-headers": "authorization, content-type, if-match",
      },
    });

  describe("with CORS_ORIGINS set", () => {
    let withCors: TestApp;
    beforeAll(async () => {
      withCors = await startTestApp({ CORS_ORIGINS: allowed });
    });
    afterAll(() => withCors.close());

    it("allows a preflight from a listed origin, for the methods and headers the API uses", async () => {
      for (const path of [
        "/api/cors-user/tasks",
        "/api/cors-user/tasks/00000000-0000-4000-8000-000000000000/complete",
      ]) {
        const res = await preflight(withCors, allowed, path);
        expect(res.status).toBeLessThan(300);
        expect(res.headers.get("access-control-allow-origin")).toBe(allowed);
        const allowedMethods = (res.headers.get("access-control-allow-methods") ?? "").split(",").map((m) => m.trim());
        expect(allowedMethods).toEqual(expect.arrayContaining(["GET", "POST", "PUT", "PATCH", "DELETE"]));
        const allowedHeaders = (res.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(",");
        expect(allowedHeaders.map((h) => h.trim())).toEqual(
          expect.arrayContaining(["authorization", "content-type", "if-match"]),
        );
        expect(res.headers.get("vary") ?? "").toMatch(/\bOrigin\b/i);
      }
    });

    it("gives no Access-Control-Allow-Origin to a preflight from another origin", async () => {
      for (const origin of [evil, "https://app.example.com.evil.example", "http://app.example.com", "null"]) {
        const res = await preflight(withCors, origin);
        expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
      }
    });

    it("lets a listed origin read real responses, their ETag, Location and WWW-Authenticate included", async () => {
      const token = await mintToken("cors-user");
      const created = await rest(withCors, "POST", "/api/cors-user/tasks", {
        token,
        body: { title: "from the browser" },
        headers: { origin: allowed },
      });
      expect(created.status).toBe(201);
      expect(created.headers.get("access-control-allow-origin")).toBe(allowed);
      const exposed = (created.headers.get("access-control-expose-headers") ?? "").toLowerCase();
      for (const name of ["etag", "location", "www-authenticate"]) expect(exposed).toContain(name);

      const refused = await rest(withCors, "GET", "/api/cors-user/tasks", { headers: { origin: allowed } });
      errorOf(refused, 401, "UNAUTHENTICATED");
      expect(refused.headers.get("access-control-allow-origin")).toBe(allowed);

      const other = await rest(withCors, "GET", "/api/cors-user/tasks", { token, headers: { origin: evil } });
      expect(listOf(other).data).toHaveLength(1);
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
    });
  });

  describe("without CORS_ORIGINS", () => {
    it("sends no Access-Control-Allow-Origin at all, to preflights or to requests", async () => {
      expect(t.config.corsOrigins).toEqual([]);
      for (const origin of [allowed, evil]) {
        const res = await preflight(t, origin);
        expect(res.headers.get("access-control-allow-origin"), origin).toBeNull();
        expect(res.headers.get("access-control-allow-methods")).toBeNull();
        // Not a CORS preflight here: just a method the route does not have.
        const checked = await rest(t, "OPTIONS", "/api/cors-user/tasks", { headers: { origin } });
        errorOf(checked, 405, "METHOD_NOT_ALLOWED");
        expect(checked.headers.get("access-control-allow-origin")).toBeNull();

        const token = await mintToken("cors-user");
        const got = await rest(t, "GET", "/api/cors-user/tasks", { token, headers: { origin } });
        listOf(got);
        expect(got.headers.get("access-control-allow-origin")).toBeNull();
        const spec = await t.request("/api/openapi.json", { headers: { origin } });
        expect(spec.headers.get("access-control-allow-origin")).toBeNull();
      }
    });
  });
});
