import { getOperationAST, OperationTypeNode, parse, validate } from "graphql";
import { type CompiledQuery, compileQuery, isCompiledQuery } from "graphql-jit";
import type { Context } from "../context.js";
import { toAppError } from "../errors.js";
import type { TypedDocumentString } from "../gql/graphql.js";
import type { Logger } from "../logger.js";
import { schema } from "../schema/index.js";

/**
 * Runs a typed operation against the GraphQL schema in-process, with the
 * caller's context: the same resolvers, validation and errors as /graphql,
 * without a second HTTP hop. Each operation is parsed, validated and
 * compiled to a function (graphql-jit) once, on first use.
 */
export function createOperationRunner(logger: Logger) {
  const compiled = new Map<string, { query: CompiledQuery; mutation: boolean }>();

  function compiledFor(source: string): { query: CompiledQuery; mutation: boolean } {
    let entry = compiled.get(source);
    if (entry === undefined) {
      const document = parse(source);
      const problems = validate(schema, document);
      if (problems.length > 0) throw new Error(`REST operation does not fit the schema: ${problems[0]?.message}`);
      const result = compileQuery(schema, document);
      if (!isCompiledQuery(result)) throw new Error(`REST operation did not compile: ${result.errors?.[0]?.message}`);
      entry = { query: result, mutation: getOperationAST(document)?.operation === OperationTypeNode.MUTATION };
      compiled.set(source, entry);
    }
    return entry;
  }

  return async function runOperation<TResult, TVariables>(
    operation: TypedDocumentString<TResult, TVariables>,
    variables: TVariables,
    context: Context,
  ): Promise<TResult> {
    const { query, mutation } = compiledFor(operation.toString());
    const result = await query.query(undefined, context, variables as Record<string, unknown>);
    // As on /graphql (ringAfterMutations): the caller's live streams read their log.
    if (mutation && context.viewer) context.live.hub.ring(context.viewer.id);
    const [first] = result.errors ?? [];
    // The failure a resolver threw (an AppError, with its code and HTTP face), or a masked one.
    if (first) throw toAppError(first, logger);
    return result.data as TResult;
  };
}

export type RunOperation = ReturnType<typeof createOperationRunner>;
