/**
 * tasks-api/client: a typed client for the tasks-api GraphQL service, for
 * browsers (and any runtime with fetch and WebSocket). No server code: it
 * speaks HTTP to /graphql and graphql-ws on the same path.
 *
 *   const client = createTasksClient({ url: "https://tasks.example.com", token: () => getJwt() });
 *   const { tasks } = await client.execute(TasksDocument, { first: 20 });
 */
import { createClient as createWsClient, type Client as WsClient } from "graphql-ws/client";

export * from "./gql/graphql.js";

/**
 * Where the bearer token comes from: the host app's auth (Better Auth's
 * `authClient.token()`, say). Called before requests; with
 * `{ refresh: true }` after the service answered UNAUTHENTICATED, to get a
 * new one (the request is then retried once). Null: no token (signed out).
 */
export type TokenProvider = (options: { refresh: boolean }) => string | null | Promise<string | null>;

export interface TasksClientOptions {
  /** The service's origin, e.g. https://tasks.example.com; the page's own origin unless given. */
  url?: string;
  token: TokenProvider;
  /** A fetch to use instead of the global one (tests, server-side rendering). */
  fetch?: typeof fetch;
  /** A WebSocket class to use instead of the global one. */
  webSocket?: unknown;
  /**
   * How operations travel. "id" (the default): by their documentId from the
   * persisted-documents manifest, with the text sent only if the service
   * does not know the id. "text": always the full text.
   */
  send?: "id" | "text";
}

/** What the service said went wrong, with its stable code (see the README's error table). */
export class TasksApiError extends Error {
  override name = "TasksApiError";
  constructor(
    message: string,
    readonly code: string,
    /** The HTTP status, when the error came over HTTP. */
    readonly status?: number,
    /** Per-field problems, for BAD_USER_INPUT. */
    readonly details: readonly { field: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** The task changed since the version the caller had (CONFLICT): show it, reload, and let the user decide. */
export class VersionConflictError extends TasksApiError {
  override name = "VersionConflictError";
  readonly conflict = true;
}

export function isVersionConflict(error: unknown): error is VersionConflictError {
  return error instanceof VersionConflictError;
}

interface GraphQLErrorShape {
  message?: unknown;
  extensions?: { code?: unknown; details?: unknown };
}

function errorOf(errors: readonly GraphQLErrorShape[], status?: number): TasksApiError {
  const [first] = errors;
  const message = typeof first?.message === "string" ? first.message : "The request failed.";
  const code = typeof first?.extensions?.code === "string" ? first.extensions.code : "INTERNAL_SERVER_ERROR";
  const details = Array.isArray(first?.extensions?.details)
    ? (first.extensions.details as { field: string; message: string }[])
    : [];
  return code === "CONFLICT"
    ? new VersionConflictError(message, code, status, details)
    : new TasksApiError(message, code, status, details);
}

/**
 * An operation as codegen's client preset writes it with `documentMode: "string"`: its text,
 * its result and variables types, and (with persisted documents) its hash. Structural, so that
 * an app's own generated documents fit as well as this package's.
 */
export interface Operation<TResult, TVariables> {
  toString(): string;
  __apiType?: (variables: TVariables) => TResult;
  __meta__?: Record<string, unknown> | undefined;
}

export interface Sink<T> {
  /** The connection is up and the subscription sent: from here on, nothing committed is missed. */
  started?(): void;
  next(value: T): void;
  error(error: TasksApiError): void;
  complete(): void;
}

export interface ExecuteOptions {
  signal?: AbortSignal;
  /** For createTask: makes a retry safe (the same key and input return the first result). */
  idempotencyKey?: string;
}

export interface TasksClient {
  /** Runs a query or mutation; resolves with its data, or rejects with a TasksApiError. */
  execute<TResult, TVariables>(
    document: Operation<TResult, TVariables>,
    variables: TVariables,
    options?: ExecuteOptions,
  ): Promise<TResult>;
  /**
   * Runs a subscription over WebSocket (graphql-ws); returns what stops it.
   * The stream ends with an UNAUTHENTICATED error when the token expires:
   * subscribe again (the next connection asks the token provider afresh).
   */
  subscribe<TResult, TVariables>(
    document: Operation<TResult, TVariables>,
    variables: TVariables,
    sink: Sink<TResult>,
  ): () => void;
  /** Closes the WebSocket, if one is open. */
  dispose(): void;
}

function documentIdOf(document: { __meta__?: Record<string, unknown> | undefined }): string | undefined {
  const hash = document.__meta__?.hash;
  return typeof hash === "string" ? hash : undefined;
}

export function createTasksClient(options: TasksClientOptions): TasksClient {
  const origin = (options.url ?? globalThis.location?.origin ?? "").replace(/\/+$/, "");
  const endpoint = `${origin}/graphql`;
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const sendIds = (options.send ?? "id") === "id";
  /** Ids the service said it does not know: sent as text from then on. */
  const unknownIds = new Set<string>();

  async function post(body: Record<string, unknown>, token: string | null, execute: ExecuteOptions) {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
    };
    if (token) headers.authorization = `Bearer ${token}`;
    if (execute.idempotencyKey) headers["idempotency-key"] = execute.idempotencyKey;
    let response: Response;
    try {
      response = await doFetch(endpoint, {
        method: "POST",
        headers,
        body: JSON.stringify(body),
        ...(execute.signal ? { signal: execute.signal } : {}),
      });
    } catch (error) {
      if (execute.signal?.aborted) throw error;
      throw new TasksApiError("The service could not be reached.", "NETWORK_ERROR");
    }
    const payload = (await response.json().catch(() => undefined)) as
      | { data?: unknown; errors?: GraphQLErrorShape[] }
      | undefined;
    if (payload === undefined) {
      throw new TasksApiError(`The service answered ${response.status} without a GraphQL result.`, "BAD_RESPONSE");
    }
    return { payload, status: response.status };
  }

  /** One refresh at a time: requests refused together share the new token. */
  let refreshing: Promise<string | null> | undefined;
  async function tokenFor(refresh: boolean): Promise<string | null> {
    const ask = async () => {
      try {
        return await options.token({ refresh });
      } catch (error) {
        const reason = error instanceof Error ? `: ${error.message}` : "";
        throw new TasksApiError(`The token provider failed${reason}`, "UNAUTHENTICATED");
      }
    };
    if (!refresh) return ask();
    refreshing ??= ask().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  }

  async function execute<TResult, TVariables>(
    document: Operation<TResult, TVariables>,
    variables: TVariables,
    execute: ExecuteOptions = {},
  ): Promise<TResult> {
    const id = documentIdOf(document);
    const byId = sendIds && id !== undefined && !unknownIds.has(id);
    const body = (withText: boolean): Record<string, unknown> => ({
      ...(withText || id === undefined ? { query: document.toString() } : { documentId: id }),
      variables,
    });
    let token = await tokenFor(false);
    let attempt = await post(body(!byId), token, execute);
    let code = attempt.payload.errors?.[0]?.extensions?.code;
    if (code === "PERSISTED_DOCUMENT_NOT_FOUND" && id !== undefined) {
      unknownIds.add(id);
      attempt = await post(body(true), token, execute);
      code = attempt.payload.errors?.[0]?.extensions?.code;
    }
    if (code === "UNAUTHENTICATED") {
      const fresh = await tokenFor(true);
      if (fresh && fresh !== token) {
        token = fresh;
        attempt = await post(body(!byId || (id !== undefined && unknownIds.has(id))), token, execute);
      }
    }
    const { payload, status } = attempt;
    if (payload.errors && payload.errors.length > 0) throw errorOf(payload.errors, status);
    if (payload.data === undefined || payload.data === null) {
      throw new TasksApiError("The service answered without data.", "BAD_RESPONSE", status);
    }
    return payload.data as TResult;
  }

  let ws: WsClient | undefined;
  let connected = false;
  const waitingForConnection = new Set<() => void>();
  /** Set when the service refused the socket's token (a stream ended UNAUTHENTICATED, or close code 4403). */
  let refreshNext = false;
  function socket(): WsClient {
    if (ws) return ws;
    const wsUrl = endpoint.replace(/^http/, "ws");
    const client = createWsClient({
      url: wsUrl,
      lazy: true,
      // No reconnecting in here: graphql-ws would resend each subscription with
      // the cursor it started from. The caller resubscribes from its last cursor
      // (useLiveTasks does), which reopens the socket.
      retryAttempts: 0,
      ...(options.webSocket ? { webSocketImpl: options.webSocket } : {}),
      connectionParams: async () => {
        const token = await tokenFor(refreshNext);
        refreshNext = false;
        return token ? { Authorization: `Bearer ${token}` } : {};
      },
      on: {
        connected: () => {
          if (ws !== client) return;
          connected = true;
          for (const started of waitingForConnection) started();
          waitingForConnection.clear();
        },
        closed: (event) => {
          if (ws !== client) return;
          connected = false;
          // 4403: the service refused the token the socket was opened with.
          if ((event as { code?: number } | undefined)?.code === 4403) refreshNext = true;
        },
      },
    });
    ws = client;
    return client;
  }

  function subscribe<TResult, TVariables>(
    document: Operation<TResult, TVariables>,
    variables: TVariables,
    sink: Sink<TResult>,
  ): () => void {
    let ended = false;
    const client = socket();
    const started = () => {
      if (!ended) sink.started?.();
    };
    if (connected) queueMicrotask(started);
    else waitingForConnection.add(started);
    let stop = () => {};
    stop = client.subscribe<TResult>(
      { query: document.toString(), variables: variables as Record<string, unknown> },
      {
        next: (result) => {
          if (ended) return;
          if (result.errors && result.errors.length > 0) {
            ended = true;
            // Ended here: the service's stream must not stay open (it counts towards the per-user cap).
            stop();
            const error = errorOf(result.errors as GraphQLErrorShape[]);
            if (error.code === "UNAUTHENTICATED") {
              // The socket was opened with a token that has run out: the next one gets a new token.
              refreshNext = true;
              dropSocket();
            }
            sink.error(error);
            return;
          }
          if (result.data) sink.next(result.data as TResult);
        },
        error: (error) => {
          if (ended) return;
          ended = true;
          sink.error(
            Array.isArray(error)
              ? errorOf(error as GraphQLErrorShape[])
              : new TasksApiError("The live connection was lost.", "NETWORK_ERROR"),
          );
        },
        complete: () => {
          if (ended) return;
          ended = true;
          sink.complete();
        },
      },
    );
    return () => {
      ended = true;
      waitingForConnection.delete(started);
      stop();
    };
  }

  function dropSocket() {
    const old = ws;
    ws = undefined;
    connected = false;
    void old?.dispose();
  }

  return { execute, subscribe, dispose: dropSocket };
}
