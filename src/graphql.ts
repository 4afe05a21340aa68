import { useGraphQlJit } from "@envelop/graphql-jit";
import { EnvelopArmor } from "@escape.tech/graphql-armor";
import { GraphQLError, NoSchemaIntrospectionCustomRule } from "graphql";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import type { Config } from "./config.js";
import type { Context, CreateContext } from "./context.js";
import { isDatabaseUnavailable } from "./db/errors.js";
import { AppError, httpStatus, ServiceUnavailableError } from "./errors.js";
import type { Logger } from "./logger.js";
import { RateLimitedError } from "./rate-limit.js";
import { schema } from "./schema/index.js";

export type GraphQLHandler = YogaServerInstance<Record<string, never>, Context>;

const exampleQuery = `# Welcome to tasks-api. Put your token in the Headers tab below:
#   { "Authorization": "Bearer <token>" }
# (npm run token -- <user-id> prints one for the local server.)

query MyTasks {
  viewer { id email }
  tasks(first: 10, filter: { status: OPEN }) {
    totalCount
    edges { node { id title description isCompleted createdAt version } }
    pageInfo { hasNextPage endCursor }
  }
}

mutation AddTask {
  createTask(input: { title: "Try tasks-api" }) { id title version }
}
`;

/**
 * Limits checked while parsing and validating, before any resolver runs, so
 * an expensive query costs the service nothing but its rejection. A page is
 * capped separately (100 tasks). The limits leave room for every real
 * client query, GraphiQL's introspection included.
 */
const costControls = new EnvelopArmor({
  maxTokens: { n: 2000 },
  maxDepth: { n: 10, ignoreIntrospection: true },
  maxAliases: { n: 15 },
  maxDirectives: { n: 10 },
  costLimit: { maxCost: 5000, ignoreIntrospection: true },
  // Hints are removed with introspection (see withoutIntrospection), not here.
  blockFieldSuggestion: { enabled: false },
});

/** GraphQL over HTTP at /graphql, and GraphiQL there for browsers when enabled. */
export async function createGraphQLHandler({
  config,
  createContext,
  logger,
}: {
  config: Config;
  createContext: CreateContext;
  logger: Logger;
}): Promise<GraphQLHandler> {
  // The page bundles GraphiQL itself (no CDN), so it works offline. It is a
  // large module: loaded only when the page is on.
  const renderGraphiQL = config.graphiql ? (await import("@graphql-yoga/render-graphiql")).renderGraphiQL : undefined;
  return createYoga<Record<string, never>, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    landingPage: false,
    graphiql: config.graphiql ? { title: "tasks-api", defaultQuery: exampleQuery } : false,
    ...(renderGraphiQL ? { renderGraphiQL } : {}),
    context: ({ request }) => createContext(request),
    // The app caps bodies (MAX_BODY_BYTES) before Yoga sees them. Yoga's own
    // cap re-wraps every request body in a TransformStream and a new Request.
    maxRequestBodySize: false,
    logging: false,
    // isDev off: Yoga would otherwise add the parser's originalError to request errors.
    maskedErrors: { maskError: (error) => toClientError(error, logger), isDev: false },
    plugins: [
      withoutErrorInternals(),
      refuseDeepNesting(),
      ...costControls.protect().plugins,
      ...(config.introspection ? [] : [withoutIntrospection()]),
      // Each distinct operation is compiled to a function once (kept in an
      // LRU cache), and runs as that: the same resolvers, without graphql-js
      // interpreting the document for every field of every row.
      useGraphQlJit(),
    ],
  });
}

/**
 * Yoga answers an unreadable request (bad JSON) itself, without masking, and
 * puts the parser's error in `extensions.originalError`: keep the message
 * and code, drop the internals.
 */
function withoutErrorInternals(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result) || Symbol.asyncIterator in result) return;
      if (!result.errors?.some((error) => "originalError" in (error.extensions ?? {}))) return;
      setResult({
        ...result,
        errors: result.errors.map((error) => {
          const { originalError: _internals, ...extensions } = error.extensions ?? {};
          return new GraphQLError(error.message, { ...locationOf(error), extensions });
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
function refuseDeepNesting(maxNesting = 64): Plugin {
  return {
    onParams({ params }) {
      const query = typeof params.query === "string" ? params.query : "";
      let depth = 0;
      for (const char of query) {
        if (char === "{" || char === "[" || char === "(") depth++;
        else if (char === "}" || char === "]" || char === ")") depth--;
        if (depth > maxNesting) {
          throw new GraphQLError(`The operation is nested more than ${maxNesting} levels deep.`, {
            extensions: { code: "BAD_USER_INPUT", http: { status: 400 } },
          });
        }
      }
    },
  };
}

/**
 * Production without introspection: `__schema`/`__type` queries are refused,
 * and validation messages lose their "Did you mean ...?" hints, which would
 * otherwise spell the schema out one guess at a time.
 */
function withoutIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
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
 * Expected failures keep their message and get a stable `extensions.code`
 * and HTTP status; anything else is logged and masked.
 */
export function toClientError(error: unknown, logger: Logger): GraphQLError {
  const graphqlError = error instanceof GraphQLError ? error : undefined;
  const original = rootCause(error);

  let appError = original instanceof AppError ? original : undefined;
  if (!appError && isDatabaseUnavailable(original)) {
    logger.warn({ err: original }, "database unavailable");
    appError = new ServiceUnavailableError();
  }
  if (appError) {
    return new GraphQLError(appError.message, {
      ...locationOf(graphqlError),
      extensions: {
        code: appError.code,
        ...(appError.details.length > 0 ? { details: appError.details } : {}),
        http: { status: httpStatus[appError.code], headers: httpHeaders(appError) },
      },
    });
  }
  // GraphQL's own errors (syntax, validation, bad variables) describe the request: keep them.
  if (graphqlError && graphqlError.originalError === undefined) return graphqlError;
  // A request the server could not read (bad JSON, bad query parameters): its
  // message and 4xx status, without the parser's internals.
  const http = graphqlError?.extensions.http as { status?: number } | undefined;
  if (graphqlError && http?.status !== undefined && http.status < 500) {
    return new GraphQLError(graphqlError.message, {
      extensions: { code: graphqlError.extensions.code ?? "BAD_REQUEST", http: { status: http.status } },
    });
  }
  // Unparseable request parameters (e.g. a `variables` query parameter that is not JSON).
  if (original instanceof SyntaxError && graphqlError?.path === undefined) {
    return new GraphQLError("The request could not be parsed: query, variables and extensions must be valid.", {
      extensions: { code: "BAD_REQUEST", http: { status: 400 } },
    });
  }
  // A variable that does not fit its type: graphql-js wraps the coercion error.
  if (graphqlError && original instanceof GraphQLError) {
    return new GraphQLError(graphqlError.message, {
      ...locationOf(graphqlError),
      extensions: { code: "BAD_USER_INPUT", http: { status: 400 } },
    });
  }

  logger.error({ err: original }, "unexpected error");
  return new GraphQLError("Unexpected error.", {
    ...locationOf(graphqlError),
    extensions: { code: "INTERNAL_SERVER_ERROR", http: { status: 500 } },
  });
}

/** Where in the operation the error happened, kept when an error is replaced. */
function locationOf(error: GraphQLError | undefined) {
  return { nodes: error?.nodes ?? null, path: error?.path ?? null };
}

function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

function httpHeaders(error: AppError): Record<string, string> {
  if (error.code === "UNAUTHENTICATED") return { "WWW-Authenticate": 'Bearer realm="tasks-api"' };
  if (error.code === "SERVICE_UNAVAILABLE") return { "Retry-After": "5" };
  if (error instanceof RateLimitedError) return { "Retry-After": String(error.retryAfterSeconds) };
  return {};
}
