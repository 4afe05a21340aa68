import { EnvelopArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, getOperationAST, OperationTypeNode, type ValidationContext, type ValidationRule } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Context } from "./context.js";
import { AppError, graphqlErrorOf } from "./errors.js";

/**
 * Limits checked while parsing and validating, before any resolver runs, so
 * an expensive query costs the service nothing but its rejection. A page is
 * capped separately (100 tasks). The limits leave room for every real
 * client query, GraphiQL's introspection included.
 *
 * graphql-armor words a rejection "Syntax Error: ..." with no code, and
 * throws it out of validation, which makes it a 200 whatever the client
 * accepts. Here each is reported as a validation error with a stable code
 * and the message that names the limit ("Aliases limit of 15 exceeded,
 * found 16."), so Yoga answers it as the GraphQL-over-HTTP spec says for a
 * request that fails validation: 400 for application/graphql-response+json,
 * 200 for application/json. The token limit is enforced by the parser
 * itself, so it keeps throwing (see codedTokenLimit).
 */
export function costControls() {
  const reportAs =
    (code: string) =>
    (context: ValidationContext | null, error: GraphQLError): void => {
      context?.reportError(new GraphQLError(withoutPrefix(error.message), { extensions: { code } }));
    };
  const reported = (code: string) => ({ propagateOnRejection: false, onReject: [reportAs(code)] });
  return new EnvelopArmor({
    maxTokens: { n: 2000 },
    maxDepth: { n: 10, ignoreIntrospection: true, ...reported("DEPTH_LIMIT_EXCEEDED") },
    maxAliases: { n: 15, ...reported("ALIAS_LIMIT_EXCEEDED") },
    maxDirectives: { n: 10, ...reported("DIRECTIVE_LIMIT_EXCEEDED") },
    costLimit: { maxCost: 5000, ignoreIntrospection: true, ...reported("COST_LIMIT_EXCEEDED") },
    // Its suggestion masking misses enum values ("Did you mean the enum
    // value ...?"): see withoutSuggestions.
    blockFieldSuggestion: { enabled: false },
  }).protect().plugins;
}

const withoutPrefix = (message: string) => message.replace(/^Syntax Error: /, "");

/** The parser's token limit, with a code of its own instead of a "Syntax Error: " prefix. */
export function codedTokenLimit(): Plugin {
  return {
    onParse() {
      return ({ result, replaceParseResult }) => {
        if (result instanceof GraphQLError && /^Syntax Error: Token limit of /.test(result.message)) {
          replaceParseResult(
            new GraphQLError(withoutPrefix(result.message), {
              extensions: { ...result.extensions, code: "TOKEN_LIMIT_EXCEEDED" },
            }),
          );
        }
      };
    },
  };
}

/**
 * Yoga answers an unreadable request (bad JSON) itself, without masking, and
 * puts the parser's error in `extensions.originalError`: keep the message
 * and code, drop the internals.
 */
export function withoutErrorInternals(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      if (!result.errors?.some((error) => "originalError" in (error.extensions ?? {}))) return;
      setResult({
        ...result,
        errors: result.errors.map((error) => {
          const { originalError: _internals, ...extensions } = error.extensions ?? {};
          return new GraphQLError(error.message, { nodes: error.nodes ?? null, path: error.path ?? null, extensions });
        }),
      });
    },
  };
}

/**
 * Brackets nested deeper than any real operation are refused before parsing:
 * the parser and validators recurse, and a few thousand `[` would exhaust
 * the stack before the token limit is reached.
 */
export function refuseDeepNesting(maxNesting = 64): Plugin {
  return {
    onParams({ params }) {
      checkNesting(typeof params.query === "string" ? params.query : "", maxNesting);
    },
  };
}

/** Throws BAD_USER_INPUT when brackets in `query` nest deeper than `maxNesting` (also used for WebSocket operations). */
export function checkNesting(query: string, maxNesting = 64): void {
  let depth = 0;
  for (const char of query) {
    if (char === "{" || char === "[" || char === "(") depth++;
    else if (char === "}" || char === "]" || char === ")") depth--;
    if (depth > maxNesting) {
      throw graphqlErrorOf(
        new AppError("BAD_USER_INPUT", `The operation is nested more than ${maxNesting} levels deep.`),
      );
    }
  }
}

/**
 * Validation messages without their "Did you mean ...?" hints, which would
 * otherwise spell the schema out one guess at a time. (graphql-armor's
 * blockFieldSuggestion matches only `Did you mean "..."?`, so enum values
 * would still leak.)
 */
export function withoutSuggestions(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.length === 0) return;
        setResult(
          result.map(
            (error) =>
              new GraphQLError(error.message.replace(/ ?Did you mean .*\?$/, ""), {
                nodes: error.nodes ?? null,
                extensions: error.extensions,
              }),
          ),
        );
      };
    },
  };
}

/**
 * graphql-js 16 validates an operation whose root type the schema lacks
 * (a `subscription` on a schema without one) and only fails when executing
 * it, as a server error. Refused here as what it is: a request error.
 */
export function refuseMissingOperationTypes(): Plugin {
  const rule: ValidationRule = (context) => ({
    OperationDefinition(node) {
      if (context.getSchema().getRootType(node.operation) === undefined) {
        context.reportError(
          new GraphQLError(`This service has no ${node.operation} operations.`, {
            nodes: node,
            extensions: { code: "OPERATION_NOT_SUPPORTED" },
          }),
        );
      }
    },
  });
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(rule);
    },
  };
}

/**
 * After a mutation, the caller's live streams everywhere are told to read
 * their change log (the write recorded its events as it committed). A
 * mutation that failed rings too: the streams then find nothing new.
 */
export function ringAfterMutations(): Plugin<Context> {
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName)?.operation !== OperationTypeNode.MUTATION) return;
      return {
        onExecuteDone() {
          const { viewer, live } = args.contextValue;
          if (viewer) live.hub.ring(viewer.id);
        },
      };
    },
  };
}
