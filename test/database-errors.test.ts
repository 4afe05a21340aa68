import { createServer } from "node:net";
import { DriverAdapterError } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "../src/db/errors.js";
import { Prisma } from "../src/generated/prisma/client.js";

/**
 * Which errors are an outage (a 503 and a retry) and which are bugs (a 500).
 * The errors are the drivers' own: a real refused connection, and Prisma's
 * and the adapter's error classes as they are thrown (the fault tests, on
 * PostgreSQL, produce them end to end through the API).
 */

const clientVersion = Prisma.prismaVersion.client;

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function refusedConnection(): Promise<Error> {
  const client = new pg.Client({ host: "127.0.0.1", port: await closedPort(), connectionTimeoutMillis: 1_000 });
  const error = await client.connect().then(
    () => undefined,
    (failure: unknown) => failure,
  );
  await client.end().catch(() => {});
  if (!(error instanceof Error)) throw new Error("the connection was not refused");
  return error;
}

/** `error` wrapped in `depth` errors, each the cause of the next. */
function wrapped(error: Error, depth: number): Error {
  let outer = error;
  for (let i = 0; i < depth; i++) outer = new Error(`layer ${i}`, { cause: outer });
  return outer;
}

describe("isDatabaseUnavailable", () => {
  it("a refused connection, as the driver reports it, is an outage", async () => {
    const refused = await refusedConnection();
    expect((refused as Error & { code?: string }).code).toBe("ECONNREFUSED");
    expect(isDatabaseUnavailable(refused)).toBe(true);
  });

  it("Prisma's outage codes are outages by the code alone", () => {
    // A message that names no symptom the message check knows: only the code says it.
    for (const code of ["P1001", "P1002", "P1008", "P1017", "P2024", "P2037"]) {
      const error = new Prisma.PrismaClientKnownRequestError("The request failed.", { code, clientVersion });
      expect({ code, unavailable: isDatabaseUnavailable(error) }).toEqual({ code, unavailable: true });
    }
  });

  it("a client that could not start is an outage", () => {
    const error = new Prisma.PrismaClientInitializationError("The client could not start.", clientVersion);
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("the adapter's connection kinds are outages, whether thrown as is or wrapped by Prisma", () => {
    const kinds: ConstructorParameters<typeof DriverAdapterError>[0][] = [
      { kind: "DatabaseNotReachable", host: "127.0.0.1", port: 5432 },
      { kind: "ConnectionClosed" },
      { kind: "SocketTimeout" },
      { kind: "TooManyConnections", cause: "too many clients already" },
    ];
    for (const payload of kinds) {
      const { kind } = payload;
      // As a transaction's COMMIT throws it: the adapter's own error, its kind as the cause.
      const thrown = new DriverAdapterError(payload);
      // As a statement's failure arrives: a request error (with a code that is not an outage) carrying it.
      const carried = new Prisma.PrismaClientKnownRequestError("The request failed.", {
        code: "P2010",
        clientVersion,
        meta: { driverAdapterError: thrown },
      });
      expect({ kind, thrown: isDatabaseUnavailable(thrown), carried: isDatabaseUnavailable(carried) }).toEqual({
        kind,
        thrown: true,
        carried: true,
      });
    }
  });

  it("the driver's plain errors for a lost connection are outages by their message", () => {
    for (const message of [
      "Connection terminated unexpectedly",
      "Client has encountered a connection error and is not queryable",
      "terminating connection due to administrator command",
      "canceling statement due to statement timeout",
      "Query read timeout",
      "timeout exceeded when trying to connect",
    ]) {
      expect({ message, unavailable: isDatabaseUnavailable(new Error(message)) }).toEqual({
        message,
        unavailable: true,
      });
    }
  });

  it("is found through causes, up to five errors deep, and stops on a cycle", async () => {
    const refused = await refusedConnection();
    expect(isDatabaseUnavailable(wrapped(refused, 4))).toBe(true);
    // Deeper than that is not looked into.
    expect(isDatabaseUnavailable(wrapped(refused, 5))).toBe(false);
    const first = new Error("first");
    const second = new Error("second", { cause: first });
    first.cause = second;
    expect(isDatabaseUnavailable(first)).toBe(false);
  });

  it("anything else is not an outage: a bug stays a 500", () => {
    const unique = new Prisma.PrismaClientKnownRequestError("Unique constraint failed.", {
      code: "P2002",
      clientVersion,
    });
    const constraint = new DriverAdapterError({ kind: "UniqueConstraintViolation", constraint: { fields: ["id"] } });
    for (const error of [
      unique,
      constraint,
      new Error("boom"),
      new TypeError("x is undefined"),
      "ECONNREFUSED",
      null,
    ]) {
      expect({ error: String(error), unavailable: isDatabaseUnavailable(error) }).toEqual({
        error: String(error),
        unavailable: false,
      });
    }
  });
});
