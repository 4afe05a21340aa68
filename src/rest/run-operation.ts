import { type GraphQLError, parse, validate } from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import type { Context } from "../context.js";
import type { TypedDocumentString } from "../gql/graphql.js";
import { toClientError } from "../graphql.js";
import type { Logger } from "../logger.js";
import { schema } from "../schema/index.js";

/** A GraphQL error as REST sees it: the stable code and what the client may read. */
export class OperationError extends Error {
  override name = "OperationError";
  constructor(
    readonly code: string,
    message: string,
    readonly details: { field: string; message: string }[],
    readonly headers: Record<string, string>,
  ) {
    super(message);
  }
}

/**
 * Runs a typed operation against the GraphQL schema in-process, with the
 * caller's context: the same resolvers, validation and errors as /graphql,
 * without a second HTTP hop. Each operation is parsed, validated and
 * compiled to a function (graphql-jit) once, on first use.
 */
export function createOperationRunner(logger: Logger) {
  const compiled = new Map<string, CompiledQuery>();

  function compiledFor(source: string): CompiledQuery {
    let query = compiled.get(source);
    if (query === undefined) {
      const document = parse(source);
      const problems = validate(schema, document);
      if (problems.length > 0) throw new Error(`REST operation does not fit the schema: ${problems[0]?.message}`);
      const result = compileQuery(schema, document);
      if (!isCompiledQuery(result)) throw new Error(`REST operation did not compile: ${result.errors?.[0]?.message}`);
      query = result;
      compiled.set(source, query);
    }
    return query;
  }

  return async function runOperation<TResult, TVariables>(
    operation: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    context: Context,
  ): Promise<TResult> {
    const result = await compiledFor(operation.toString()).query(
      undefined,
      context,
      variables as Record<string, unknown>,
    );
    const [first] = result.errors ?? [];
    if (first) throw fromGraphQLError(toClientError(first, logger));
    return result.data as TResult;
  };
}

export type RunOperation = ReturnType<typeof createOperationRunner>;

/** Reads the code, details and HTTP headers a masked GraphQL error carries. */
export function fromGraphQLError(error: GraphQLError): OperationError {
  const extensions = error.extensions as {
    code?: string;
    details?: { field: string; message: string }[];
    http?: { headers?: Record<string, string> };
  };
  return new OperationError(
    extensions.code ?? "INTERNAL_SERVER_ERROR",
    error.message,
    extensions.details ?? [],
    extensions.http?.headers ?? {},
  );
}
