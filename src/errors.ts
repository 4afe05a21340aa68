/**
 * Expected failures, each with a stable code. Anything else that goes wrong is
 * unexpected and is masked before it leaves the service.
 */
export type ErrorCode =
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "BAD_USER_INPUT"
  | "CONFLICT"
  | "RATE_LIMITED"
  | "IDEMPOTENCY_KEY_REUSED"
  | "SERVICE_UNAVAILABLE";

/** The HTTP status of each code: the one mapping, used by GraphQL and REST alike. */
export const httpStatus: Record<ErrorCode, number> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  BAD_USER_INPUT: 400,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  IDEMPOTENCY_KEY_REUSED: 422,
  SERVICE_UNAVAILABLE: 503,
};

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
  ) {
    super(message);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = "A valid bearer token is required.") {
    super("UNAUTHENTICATED", message);
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

export class IdempotencyKeyReusedError extends AppError {
  constructor() {
    super(
      "IDEMPOTENCY_KEY_REUSED",
      "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
    );
  }
}

export class ServiceUnavailableError extends AppError {
  constructor(message = "The service is temporarily unavailable. Try again shortly.") {
    super("SERVICE_UNAVAILABLE", message);
  }
}
