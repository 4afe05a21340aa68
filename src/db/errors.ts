import { isDriverAdapterError } from "@prisma/driver-adapter-utils";

/**
 * Whether an error means "the database cannot be reached right now" (a 503
 * and a retry), as opposed to a bug (a 500). Prisma reports these with
 * stable codes; a driver's own connection errors may also arrive unwrapped.
 */
const unavailableCodes = new Set([
  "P1001", // can't reach database server
  "P1002", // server reached but timed out
  "P1008", // operations timed out
  "P1017", // server closed the connection
  "P2024", // timed out fetching a connection from the pool
  "P2037", // too many database connections
]);

const unavailableKinds = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

/**
 * The kind of a driver adapter's error. Prisma wraps a failed statement's as
 * `meta.driverAdapterError`; a transaction's COMMIT or ROLLBACK whose
 * connection is lost throws the adapter's DriverAdapterError itself, with
 * the kind as its cause.
 */
function adapterErrorKind(error: Error & { meta?: { driverAdapterError?: unknown } }): unknown {
  if (isDriverAdapterError(error)) return error.cause.kind;
  return (error.meta?.driverAdapterError as { cause?: { kind?: unknown } } | undefined)?.cause?.kind;
}

const unavailableMessages =
  /Can't reach database server|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|terminating connection due to administrator command|the database system is (starting up|shutting down)|canceling statement due to statement timeout|Connection is not open|Query read timeout|Unable to start a transaction in the given time/i;

export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    const { code, message } = current as Error & { code?: unknown };
    if (typeof code === "string" && unavailableCodes.has(code)) return true;
    if (current.name === "PrismaClientInitializationError") return true;
    const kind = adapterErrorKind(current);
    if (typeof kind === "string" && unavailableKinds.has(kind)) return true;
    if (unavailableMessages.test(message)) return true;
    current = current.cause;
  }
  return false;
}
