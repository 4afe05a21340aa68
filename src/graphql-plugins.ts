import { EnvelopArmor } from "@escape.tech/graphql-armor";
import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { AppError, graphqlErrorOf } from "./errors.js";

/**
 * Limits checked while parsing and validating, before any resolver runs, so
 * an expensive query costs the service nothing but its rejection. A page is
 * capped separately (100 tasks). The limits leave room for every real
 * client query, GraphiQL's introspection included.
 */
export function costControls() {
  return new EnvelopArmor({
    maxTokens: { n: 2000 },
    maxDepth: { n: 10, ignoreIntrospection: true },
    maxAliases: { n: 15 },
    maxDirectives: { n: 10 },
    costLimit: { maxCost: 5000, ignoreIntrospection: true },
    // Its suggestion masking misses enum values ("Did you mean the enum
    // value ...?"): see withoutSuggestions.
    blockFieldSuggestion: { enabled: false },
  }).protect().plugins;
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
      const query = typeof params.query === "string" ? params.query : "";
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
    },
  };
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
