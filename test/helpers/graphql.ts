import type { TypedDocumentString } from "../gql/graphql.js";
import type { TestApp } from "./app.js";
import { bearer } from "./tokens.js";

export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; details?: { field: string; message: string }[] };
}

export interface GraphQLResponse<T> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GraphQLErrorBody[];
  /** The body as sent, to look for text that must not be there (internals, another user's data). */
  text: string;
}

export interface ExecuteOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** More request headers, e.g. an Idempotency-Key. */
  headers?: Record<string, string>;
}

/**
 * Runs a typed operation (from `graphql()` in test/gql) through HTTP, as a
 * client would: POST /graphql with JSON and, if given, a bearer token (the
 * last argument, alone or in the options) and more headers.
 */
export async function execute<TResult, TVariables>(
  t: Pick<TestApp, "request">,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
  options: string | ExecuteOptions = {},
): Promise<GraphQLResponse<TResult>> {
  const { token, headers } = typeof options === "string" ? { token: options, headers: {} } : options;
  const res = await t.request("/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...(token ? bearer(token) : {}),
      ...headers,
    },
    body: JSON.stringify({ query: document.toString(), variables }),
  });
  const text = await res.text();
  const body = JSON.parse(text) as { data?: TResult | null; errors?: GraphQLErrorBody[] };
  return { status: res.status, headers: res.headers, text, ...body };
}

/** The data of a response that must have succeeded; fails loudly with the errors otherwise. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || response.data == null) {
    throw new Error(`expected success, got ${response.status}: ${JSON.stringify(response.errors)}`);
  }
  return response.data;
}

/** The codes of a response's errors, e.g. ["NOT_FOUND"]. */
export function codesOf(response: Pick<GraphQLResponse<unknown>, "errors">): (string | undefined)[] {
  return (response.errors ?? []).map((error) => error.extensions?.code);
}
