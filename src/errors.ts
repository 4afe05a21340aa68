import { GraphQLError, type GraphQLFormattedError } from "graphql";
import { isDatabaseUnavailable } from "./db/errors.js";
import type { Logger } from "./logger.js";

/**
 * The error policy, in one place. An expected failure is an AppError: it
 * carries its stable code, its HTTP status (from the one table below) and
 * the headers that go with it. Everything else is unexpected: logged, and
 * masked before it leaves the service. GraphQL and REST read status and
 * headers from the error; each transport has one function that shapes the
 * body (`graphqlErrorResponse`, `restErrorResponse`).
 */

/** Every code a client can see, and its HTTP status: the one table. */
export const statusOf = {
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  PERSISTED_DOCUMENT_NOT_FOUND: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  DOCUMENT_NOT_TRUSTED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  NOT_ACCEPTABLE: 406,
  CONFLICT: 409,
  CURSOR_EXPIRED: 410,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  IDEMPOTENCY_KEY_REUSED: 422,
  RATE_LIMITED: 429,
  INTERNAL_SERVER_ERROR: 500,
  SERVICE_UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof statusOf;

export interface FieldProblem {
  /** The input field, e.g. "title" or "input.title". */
  field: string;
  message: string;
}

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: FieldProblem[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return statusOf[this.code];
  }
}

/** How long a client should wait before retrying a 503, in seconds. */
const retryUnavailableSeconds = "5";

export class UnauthenticatedError extends AppError {
  constructor(message = "A valid bearer token is required.") {
    super("UNAUTHENTICATED", message, [], { "WWW-Authenticate": 'Bearer realm="tasks-api"' });
  }
}

export class ForbiddenError extends AppError {
  constructor(message = "You may not do this.") {
    super("FORBIDDEN", message);
  }
}

export class NotFoundError extends AppError {
  constructor(what = "Task") {
    super("NOT_FOUND", `${what} not found.`);
  }
}

export class NoRouteError extends AppError {
  constructor(method: string, path: string) {
    super("NOT_FOUND", `No route for ${method} ${path}.`);
  }
}

export class BadUserInputError extends AppError {
  constructor(details: FieldProblem[]) {
    const [first] = details;
    super("BAD_USER_INPUT", first ? `${first.field}: ${first.message}` : "Invalid input.", details);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super("CONFLICT", message);
  }
}

export class CursorExpiredError extends AppError {
  constructor() {
    super(
      "CURSOR_EXPIRED",
      "This change cursor is older than the change log keeps: list the tasks afresh and follow changes from that list's changeCursor.",
    );
  }
}

export class PreconditionFailedError extends AppError {
  constructor() {
    super("PRECONDITION_FAILED", "If-Match does not match the task's current ETag.");
  }
}

export class MethodNotAllowedError extends AppError {
  constructor(method: string, allowed: string) {
    super("METHOD_NOT_ALLOWED", `${method} is not allowed here. Allowed: ${allowed}.`, [], { Allow: allowed });
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(maxBytes: number) {
    super("PAYLOAD_TOO_LARGE", `The request body is larger than ${maxBytes} bytes.`);
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super("UNSUPPORTED_MEDIA_TYPE", message);
  }
}

export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super(
      "IDEMPOTENCY_KEY_REUSED",
      "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
    );
  }
}

export class RateLimitedError extends AppError {
  constructor(readonly retryAfterSeconds: number) {
    super("RATE_LIMITED", `Too many requests. Try again in ${retryAfterSeconds} s.`, [], {
      "Retry-After": String(retryAfterSeconds),
    });
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = "The service is temporarily unavailable. Try again shortly.") {
    super("SERVICE_UNAVAILABLE", message, [], { "Retry-After": retryUnavailableSeconds });
  }
}

export class InternalError extends AppError {
  constructor() {
    super("INTERNAL_SERVER_ERROR", "Unexpected error.");
  }
}

// --- Masking ----------------------------------------------------------------

/** The innermost error of a GraphQL error chain: what a resolver (or the database) threw. */
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/** The expected failure behind an error, if it is one; a database outage is a 503. */
function expectedFailure(cause: unknown, logger: Logger): AppError | undefined {
  if (cause instanceof AppError) return cause;
  if (isDatabaseUnavailable(cause)) {
    logger.warn({ err: cause }, "database unavailable");
    return new ServiceUnavailableError();
  }
  return undefined;
}

/** Any error as what a client may see: an expected failure as it is, anything else logged and masked. */
export function toAppError(error: unknown, logger: Logger): AppError {
  const cause = rootCause(error);
  const expected = expectedFailure(cause, logger);
  if (expected) return expected;
  logger.error({ err: cause }, "unexpected error");
  return new InternalError();
}

/**
 * The masking function of /graphql. Expected failures keep their message
 * and get their code and HTTP face; GraphQL's own errors (syntax,
 * validation, variables) describe the request and are kept; anything else
 * is masked as above.
 */
export function toGraphQLError(error: unknown, logger: Logger): GraphQLError {
  const graphqlError = error instanceof GraphQLError ? error : undefined;
  const cause = rootCause(error);
  const expected = expectedFailure(cause, logger);
  if (expected) return graphqlErrorOf(expected, graphqlError);
  // A variable of the wrong type (an enum value that is not one, a number for
  // a string) as graphql-jit reports it: no original error, but the request's fault.
  if (graphqlError?.originalError == null && /^Variable "\$\w+" got invalid value/.test(graphqlError?.message ?? "")) {
    return graphqlErrorOf(new AppError("BAD_USER_INPUT", graphqlError?.message ?? "Invalid variables."), graphqlError);
  }
  if (graphqlError && graphqlError.originalError == null) return graphqlError;

  // A request Yoga could not read (bad JSON, a GET mutation): its message
  // and 4xx status, without the parser's internals.
  const http = graphqlError?.extensions?.http as { status?: unknown; headers?: Record<string, string> } | undefined;
  if (graphqlError && typeof http?.status === "number" && http.status < 500) {
    const code = typeof graphqlError.extensions.code === "string" ? graphqlError.extensions.code : "BAD_REQUEST";
    return new GraphQLError(graphqlError.message, {
      extensions: { code, http: { status: http.status, ...(http.headers ? { headers: http.headers } : {}) } },
    });
  }
  // Unparseable request parameters (e.g. a `variables` query parameter that is not JSON).
  if (cause instanceof SyntaxError && graphqlError?.path === undefined) {
    return graphqlErrorOf(
      new AppError("BAD_REQUEST", "The request could not be parsed: query, variables and extensions must be valid."),
    );
  }
  // A variable that does not fit its type: graphql-js wraps the coercion error.
  if (graphqlError && cause instanceof GraphQLError) {
    return graphqlErrorOf(new AppError("BAD_USER_INPUT", graphqlError.message), graphqlError);
  }
  return graphqlErrorOf(toAppError(cause, logger), graphqlError);
}

/** An expected failure as a GraphQL error, at the place in the operation where `at` happened. */
export function graphqlErrorOf(error: AppError, at?: GraphQLError): GraphQLError {
  return new GraphQLError(error.message, {
    nodes: at?.nodes ?? null,
    path: at?.path ?? null,
    extensions: {
      code: error.code,
      ...(error.details.length > 0 ? { details: error.details } : {}),
      // Yoga sets the response's status and headers from this, and strips it from the body.
      http: { status: error.status, headers: error.headers },
    },
  });
}

// --- Bodies, one shape per transport ------------------------------------------

function jsonResponse(body: unknown, error: AppError): Response {
  return new Response(JSON.stringify(body), {
    status: error.status,
    headers: { "content-type": "application/json", ...error.headers },
  });
}

/** `{ errors: [...] }`, as GraphQL over HTTP answers a request it refuses before running it. */
export function graphqlErrorResponse(error: AppError): Response {
  const formatted: GraphQLFormattedError = {
    message: error.message,
    extensions: { code: error.code, ...(error.details.length > 0 ? { details: error.details } : {}) },
  };
  return jsonResponse({ errors: [formatted] }, error);
}

/** `{ error: { code, message, details? } }`, as the REST API documents every error. */
export function restErrorResponse(error: AppError): Response {
  const body = {
    error: {
      code: error.code,
      message: error.message,
      ...(error.details.length > 0 ? { details: error.details } : {}),
    },
  };
  return jsonResponse(body, error);
}
