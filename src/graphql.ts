import { useGraphQlJit } from "@envelop/graphql-jit";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { getOperationAST, OperationTypeNode } from "graphql";
import { createYoga, type YogaServerInstance } from "graphql-yoga";
import type { Config } from "./config.js";
import type { Context, CreateContext } from "./context.js";
import { toGraphQLError } from "./errors.js";
import {
  codedTokenLimit,
  costControls,
  refuseDeepNesting,
  refuseMissingOperationTypes,
  ringAfterMutations,
  withoutErrorInternals,
  withoutSuggestions,
} from "./graphql-plugins.js";
import type { Logger } from "./logger.js";
import { schema } from "./schema/index.js";
import { type TrustedDocuments, trustedDocumentPlugins } from "./trusted-documents.js";

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

# Live: run this, then AddTask in another tab (or a REST call).
subscription Changes {
  taskEvents { cursor kind taskId version task { title isCompleted } }
}
`;

/** GraphQL over HTTP at /graphql, and GraphiQL there for browsers when enabled. */
export async function createGraphQLHandler({
  config,
  createContext,
  logger,
  trustedDocuments,
}: {
  config: Config;
  createContext: CreateContext;
  logger: Logger;
  trustedDocuments: TrustedDocuments;
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
    // CORS is the app's, one policy for every surface (CORS_ORIGINS).
    cors: false,
    logging: false,
    // isDev off: Yoga would otherwise add the parser's originalError to request errors.
    maskedErrors: { maskError: (error) => toGraphQLError(error, logger), isDev: false },
    plugins: [
      // First: a document named by its id gets its text before anything reads it.
      ...trustedDocumentPlugins(trustedDocuments, { only: config.trustedDocuments.only }),
      withoutErrorInternals(),
      refuseDeepNesting(),
      refuseMissingOperationTypes(),
      ...costControls(),
      codedTokenLimit(),
      ringAfterMutations(),
      // Production without introspection: `__schema`/`__type` are refused, and
      // validation messages lose the hints that would spell the schema out.
      ...(config.introspection ? [] : [useDisableIntrospection(), withoutSuggestions()]),
      // Each distinct operation is compiled to a function once (kept in an
      // LRU cache), and runs as that: the same resolvers, without graphql-js
      // interpreting the document for every field of every row.
      // Subscriptions run on graphql-js: graphql-jit's subscribe does not
      // pass a subscription field its arguments (`after` would be lost).
      useGraphQlJit(
        {},
        {
          enableIf: ({ document, operationName }) =>
            getOperationAST(document, operationName)?.operation !== OperationTypeNode.SUBSCRIPTION,
        },
      ),
    ],
  });
}
