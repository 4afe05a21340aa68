import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { openApiDocument } from "../../src/rest/openapi.js";
import type { TaskFieldsFragment } from "../gql/graphql.js";
import type { TestApp } from "./app.js";
import { bearer } from "./tokens.js";

/**
 * REST calls for tests, checked against the OpenAPI contract of
 * src/rest/openapi.ts: every response a test receives through `rest()` must be
 * one the contract documents (path, method, status, JSON body, headers), or
 * the call throws. A test cannot pass on an off-contract response.
 */

// --- The contract's shapes, as TypeScript -------------------------------------

export interface RestTask {
  id: string;
  user_id: string;
  title: string;
  description: string | null;
  is_completed: boolean;
  completed_at: string | null;
  created_at: string;
  updated_at: string;
  version: number;
  due_date: string | null;
  due_at: string | null;
  priority: string;
  labels: string[];
}

/** A GraphQL task as the REST API spells it. */
export function asRest(task: TaskFieldsFragment): RestTask {
  return {
    id: task.id,
    user_id: task.owner.id,
    title: task.title,
    description: task.description ?? null,
    is_completed: task.isCompleted,
    completed_at: task.completedAt ?? null,
    created_at: task.createdAt,
    updated_at: task.updatedAt,
    version: task.version,
    due_date: task.dueDate ?? null,
    due_at: task.dueAt ?? null,
    priority: task.priority.toLowerCase(),
    labels: task.labels.map((label) => label.name),
  };
}

export interface RestTaskEnvelope {
  data: RestTask;
  meta: Record<string, never>;
}

export interface RestTaskList {
  data: RestTask[];
  meta: { total: number; count: number; limit: number; next_cursor: string | null };
}

export interface RestErrorBody {
  error: { code: string; message: string; details?: { field: string; message: string }[] };
}

export interface RestResponse {
  status: number;
  headers: Headers;
  /** The parsed JSON body, or null when there was none. */
  body: unknown;
  text: string;
}

export interface RestOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Sent as JSON, with `Content-Type: application/json`. */
  body?: unknown;
  /** Sent as is, with `Content-Type: application/json` unless `headers` name another content type. */
  rawBody?: string | Uint8Array<ArrayBuffer>;
  headers?: Record<string, string>;
}

// --- The validator ------------------------------------------------------------

const documentId = "openapi.json";
const httpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
type HttpMethod = (typeof httpMethods)[number];

/** The headers the code guarantees whenever the contract documents them on a response. */
const guaranteedHeaders = new Set(["etag", "location", "www-authenticate", "allow", "retry-after"]);

interface Contract {
  paths: Record<string, Record<string, unknown>>;
}

const contract: Contract = openApiDocument;

/**
 * An Ajv (JSON Schema 2020-12, as OpenAPI 3.1 uses) that knows the whole
 * OpenAPI document under the id `openapi.json`, so that any schema in it,
 * `$ref`s included, can be looked up by JSON pointer. Strict: an unknown
 * keyword in a schema is an error, not silently ignored.
 */
export function createContractAjv(document: object = openApiDocument): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormatsModule.default(ajv);
  // The top-level OpenAPI fields are not JSON Schema keywords; schemas are reached by pointer.
  ajv.addVocabulary(["openapi", "info", "jsonSchemaDialect", "servers", "security", "tags", "paths", "components"]);
  ajv.addSchema({ ...document, $id: documentId });
  return ajv;
}

const ajv = createContractAjv();

/** `#/paths/~1api~1{user_id}~1tasks/get/...` as a URI fragment Ajv can resolve. */
export function pointerTo(...segments: string[]): string {
  const escaped = segments.map((segment) => encodeURIComponent(segment.replaceAll("~", "~0").replaceAll("/", "~1")));
  return `${documentId}#/${escaped.join("/")}`;
}

/** Compiles the schema at a JSON pointer into the document an Ajv from createContractAjv holds. */
export function compileAt(contractAjv: Ajv2020, ...segments: string[]): ValidateFunction {
  const ref = pointerTo(...segments);
  const validate = contractAjv.getSchema(ref);
  if (validate === undefined) throw new Error(`The contract has no schema at ${ref}.`);
  return validate;
}

const validators = new Map<string, ValidateFunction>();

/** The validator of the schema at a JSON pointer into the contract, compiled once. */
export function validatorAt(...segments: string[]): ValidateFunction {
  const ref = pointerTo(...segments);
  let validate = validators.get(ref);
  if (validate === undefined) {
    validate = compileAt(ajv, ...segments);
    validators.set(ref, validate);
  }
  return validate;
}

const isTaskEnvelope = validatorAt("components", "schemas", "TaskEnvelope") as ValidateFunction<RestTaskEnvelope>;
const isTaskList = validatorAt("components", "schemas", "TaskList") as ValidateFunction<RestTaskList>;
const isError = validatorAt("components", "schemas", "Error") as ValidateFunction<RestErrorBody>;

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? [])
    .map((e) => `${e.instancePath || "(root)"} ${e.message ?? ""} ${JSON.stringify(e.params)}`)
    .join("; ");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const templates = Object.keys(contract.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`),
}));

/** The path template of the contract that a request path falls under, if any. */
export function templateOf(pathname: string): string | undefined {
  return templates.find(({ pattern }) => pattern.test(pathname))?.template;
}

/** The methods the contract documents for a path template, e.g. ["GET", "POST"]. */
export function documentedMethods(template: string): string[] {
  const item = contract.paths[template] ?? {};
  return httpMethods.filter((method) => method in item).map((method) => method.toUpperCase());
}

function isHttpMethod(method: string): method is HttpMethod {
  return (httpMethods as readonly string[]).includes(method);
}

/** Throws unless the response is one the contract allows for this request. */
export function checkAgainstContract(method: string, url: string, response: RestResponse): void {
  const pathname = new URL(url, "http://tasks.test").pathname;
  const fail = (reason: string): never => {
    throw new Error(
      `Off-contract response to ${method} ${url}: ${reason}\n  status ${response.status}\n  body ${response.text || "(empty)"}`,
    );
  };
  const validate = (validator: ValidateFunction, what: string) => {
    if (response.body === null) fail(`expected a JSON body (${what}), got none`);
    if (!validator(response.body)) fail(`body does not match ${what}: ${describeErrors(validator.errors)}`);
  };
  const contentType = response.headers.get("content-type") ?? "";

  const template = templateOf(pathname);
  if (template === undefined) {
    // Not a route of the contract: whatever it says must be a documented error.
    if (!pathname.startsWith("/api/")) fail("not an /api path");
    if (response.status < 400) fail("an unknown /api path must answer with an error");
    validate(isError, "#/components/schemas/Error");
    return;
  }

  const lower = method.toLowerCase();
  const item = contract.paths[template] ?? {};
  const operation = isHttpMethod(lower) ? item[lower] : undefined;
  if (!isRecord(operation)) {
    // An undocumented method on a documented path: only a 405 that says what is allowed.
    if (response.status !== 405) fail(`${method} is not documented on ${template}, so only 405 may answer`);
    const allow = response.headers.get("allow");
    if (allow === null) fail("a 405 must carry an Allow header");
    const allowed = (allow ?? "")
      .split(",")
      .map((m) => m.trim())
      .sort();
    const documented = documentedMethods(template).sort();
    if (JSON.stringify(allowed) !== JSON.stringify(documented)) {
      fail(`Allow says ${allowed.join(", ")}, the contract documents ${documented.join(", ")}`);
    }
    validate(isError, "#/components/schemas/Error");
    return;
  }

  const responses = isRecord(operation.responses) ? operation.responses : {};
  const status = String(response.status);
  const documented = responses[status];
  if (!isRecord(documented)) {
    fail(
      `status ${status} is not documented for ${method} ${template} (documented: ${Object.keys(responses).join(", ")})`,
    );
    return;
  }

  const content = isRecord(documented.content) ? documented.content : undefined;
  if (response.status === 204 || content === undefined) {
    if (response.text !== "") fail(`status ${status} is documented without a body, got one`);
  } else {
    if (!/^application\/json\b/i.test(contentType)) fail(`expected application/json, got ${contentType || "none"}`);
    if (!isRecord(content["application/json"])) fail("the contract documents no JSON body for this response");
    validate(
      validatorAt("paths", template, lower, "responses", status, "content", "application/json", "schema"),
      `the ${status} response of ${method} ${template}`,
    );
  }

  const headers = isRecord(documented.headers) ? documented.headers : {};
  for (const name of Object.keys(headers)) {
    const value = response.headers.get(name);
    if (value === null) {
      if (guaranteedHeaders.has(name.toLowerCase())) fail(`missing the ${name} header the contract documents`);
      continue;
    }
    const check = validatorAt("paths", template, lower, "responses", status, "headers", name, "schema");
    if (!check(value)) fail(`header ${name}: ${value} does not match: ${describeErrors(check.errors)}`);
  }

  // ETag is "the task's version, as an entity tag".
  const etag = response.headers.get("etag");
  if (etag !== null && isTaskEnvelope(response.body) && etag !== `"${response.body.data.version}"`) {
    fail(`ETag ${etag} is not the task's version ${response.body.data.version}`);
  }
}

// --- Requests -----------------------------------------------------------------

/**
 * Calls the app (its fetch handler, no port) and checks the response against
 * the contract before returning it.
 */
export async function rest(
  t: Pick<TestApp, "request">,
  method: string,
  path: string,
  options: RestOptions = {},
): Promise<RestResponse> {
  const headers = new Headers(options.headers);
  if (options.token !== undefined && !headers.has("authorization")) {
    for (const [name, value] of Object.entries(bearer(options.token))) headers.set(name, value);
  }
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (options.rawBody !== undefined) body = options.rawBody;
  if (body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");

  const res = await t.request(path, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.text();
  let parsed: unknown = null;
  if (text !== "" && /^application\/(?:[\w.+-]+\+)?json\b/i.test(res.headers.get("content-type") ?? "")) {
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path} answered ${res.status} with invalid JSON: ${text}`);
    }
  }
  const response: RestResponse = { status: res.status, headers: res.headers, body: parsed, text };
  checkAgainstContract(method, path, response);
  return response;
}

// --- Reading responses ----------------------------------------------------------

function unexpected(response: RestResponse, expected: string): Error {
  return new Error(`expected ${expected}, got ${response.status}: ${response.text || "(empty)"}`);
}

/** The task of a response that must be `status` (200 by default) with a task envelope. */
export function taskOf(response: RestResponse, status = 200): RestTask {
  if (response.status !== status || !isTaskEnvelope(response.body)) throw unexpected(response, `${status} with a task`);
  return response.body.data;
}

/** The list of a response that must be a 200 with a task list. */
export function listOf(response: RestResponse): RestTaskList {
  if (response.status !== 200 || !isTaskList(response.body)) throw unexpected(response, "200 with a task list");
  return response.body;
}

/** The error of a response that must be `status` with `code`. */
export function errorOf(response: RestResponse, status: number, code: string): RestErrorBody["error"] {
  if (response.status !== status || !isError(response.body) || response.body.error.code !== code) {
    throw unexpected(response, `${status} ${code}`);
  }
  return response.body.error;
}
