import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import ValidationPlugin from "@pothos/plugin-validation";
import { GraphQLError, Kind } from "graphql";
import type { Viewer } from "../auth/index.js";
import { formatCalendarDate, parseCalendarDate, parseInstant } from "../calendar.js";
import type { Context } from "../context.js";
import { BadUserInputError, UnauthenticatedError } from "../errors.js";
import type PrismaTypes from "../generated/pothos-types.js";
import { getDatamodel } from "../generated/pothos-types.js";

/**
 * Builder configuration only: plugins, auth scopes, scalars and root types.
 * Domain types live in their own files.
 *
 * The errors plugin is left out on purpose: every failure reaches clients
 * the same way, as a GraphQL error with a stable `extensions.code`, which is
 * also what the REST adapter maps to status codes. Union-typed error results
 * would be a second channel for the same facts.
 */
export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { loggedIn: boolean };
  AuthContexts: { loggedIn: Context & { viewer: Viewer } };
  PrismaTypes: PrismaTypes;
  Scalars: { DateTime: { Input: Date; Output: Date }; Date: { Input: Date; Output: Date } };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Connection: {
    /** Counted only when a client asks for it. */
    totalCount: () => Promise<number>;
  };
}>({
  defaultFieldNullability: false,
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, ValidationPlugin],
  scopeAuth: {
    authScopes: (context) => ({ loggedIn: context.viewer !== null }),
    // A subscription's scopes are checked once, when it starts, not for every event.
    authorizeOnSubscribe: true,
    unauthorizedError: () => new UnauthenticatedError(),
  },
  prisma: {
    client: (context) => context.prisma,
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    // No `node(id)`/`nodes(ids)`: every task is looked up through the viewer.
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  validation: {
    validationError: (result) =>
      new BadUserInputError(
        result.issues.map((issue) => ({
          field: (issue.path ?? [])
            .map((segment) => String(typeof segment === "object" ? segment.key : segment))
            .join("."),
          message: issue.message,
        })),
      ),
  },
});

builder.scalarType("DateTime", {
  description: "A point in time, as an ISO-8601 string in UTC with milliseconds, e.g. 2026-01-31T09:30:00.000Z.",
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (node) => parseDateTime(node.kind === Kind.STRING ? node.value : undefined),
});

function parseDateTime(value: unknown): Date {
  const date = typeof value === "string" ? parseInstant(value) : undefined;
  if (date === undefined) {
    throw new GraphQLError(
      "DateTime must be an ISO-8601 date and time with an offset, in the years 1000 to 9999, e.g. 2026-12-24T17:00:00+01:00.",
    );
  }
  return date;
}

builder.scalarType("Date", {
  description: "A calendar date, as an ISO-8601 string: 2026-12-24. Years 1000 to 9999.",
  serialize: (value) => formatCalendarDate(value),
  parseValue: (value) => parseDate(value),
  parseLiteral: (node) => parseDate(node.kind === Kind.STRING ? node.value : undefined),
});

function parseDate(value: unknown): Date {
  const date = typeof value === "string" ? parseCalendarDate(value) : undefined;
  if (date === undefined) throw new GraphQLError("Date must be a calendar date as YYYY-MM-DD, e.g. 2026-12-24.");
  return date;
}

builder.globalConnectionField("totalCount", (t) =>
  t.int({
    description: "How many items match, across all pages.",
    resolve: (connection) => connection.totalCount(),
  }),
);

builder.queryType({ description: "Reads. Everything is scoped to the caller: a token is required." });
builder.mutationType({ description: "Writes. Everything is scoped to the caller: a token is required." });
