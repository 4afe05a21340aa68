import { type DocumentNode, execute, type GraphQLError, parse, validate } from "graphql";
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
 * without a second HTTP hop. Documents are parsed and validated once.
 */
export function createOperationRunner(logger: Logger) {
  const parsed = new Map<string, DocumentNode>();

  function documentFor(source: string): DocumentNode {
    let document = parsed.get(source);
    if (document === undefined) {
      document = parse(source);
      const problems = validate(schema, document);
      if (problems.length > 0) throw new Error(`REST operation does not fit the schema: ${problems[0]?.message}`);
      parsed.set(source, document);
    }
    return document;
  }

  return async function runOperation<TResult, TVariables>(
    operation: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    context: Context,
  ): Promise<TResult> {
    const result = await execute({
      schema,
      document: documentFor(operation.toString()),
      variableValues: variables as Record<string, unknown>,
      contextValue: context,
    });
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
