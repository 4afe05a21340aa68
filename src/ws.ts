import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { ExecutionArgs, GraphQLError } from "graphql";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { App } from "./app.js";
import { AppError, toGraphQLError } from "./errors.js";
import { checkNesting } from "./graphql-plugins.js";
import type { Logger } from "./logger.js";

/**
 * GraphQL over WebSocket (the graphql-ws protocol, "graphql-transport-ws")
 * on /graphql, next to HTTP and SSE on the same path: Apollo, urql and
 * graphql-ws clients subscribe here. Each operation runs through Yoga's
 * envelop, so validation, cost limits and resolvers are the ones HTTP has;
 * the token comes in the connection's payload:
 * `{ "Authorization": "Bearer <token>" }`.
 */
export function serveGraphQLOverWebSocket(
  server: Server,
  app: App,
  logger: Logger,
  { maxPayloadBytes, accepting }: { maxPayloadBytes: number; accepting: () => boolean },
): { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxPayloadBytes });
  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const { pathname } = new URL(request.url ?? "/", "http://localhost");
    if (pathname !== "/graphql" || !accepting()) {
      socket.end(
        pathname === "/graphql" ? "HTTP/1.1 503 Service Unavailable\r\n\r\n" : "HTTP/1.1 404 Not Found\r\n\r\n",
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  server.on("upgrade", onUpgrade);

  const mask = (errors: readonly GraphQLError[]) => errors.map((error) => toGraphQLError(error, logger).toJSON());
  type Root = { execute(args: ExecutionArgs): unknown; subscribe(args: ExecutionArgs): unknown };

  /** The connection's token as a request, for the context factory (which reads it as for HTTP). */
  const requestOf = (params: Record<string, unknown> | undefined) => {
    const authorization = params?.Authorization ?? params?.authorization;
    return new Request("http://localhost/graphql", {
      headers: typeof authorization === "string" ? { authorization } : {},
    });
  };

  const disposable = useServer(
    {
      // A socket is for a user: without a valid token it is closed at once
      // (4403), so anonymous sockets cannot pile up. Per-user rate limits
      // count each connection and each operation.
      onConnect: async (ctx) => {
        try {
          const context = await app.createContext(requestOf(ctx.connectionParams));
          return context.viewer !== null;
        } catch {
          return false;
        }
      },
      execute: (args) => (args.rootValue as Root).execute(args) as never,
      subscribe: (args) => (args.rootValue as Root).subscribe(args) as never,
      onSubscribe: async (ctx, _id, payload) => {
        try {
          // As on HTTP (refuseDeepNesting runs on Yoga's params, which a socket skips).
          checkNesting(payload.query);
          if (!app.mayRun(payload.query)) {
            return [
              toGraphQLError(
                new AppError(
                  "DOCUMENT_NOT_TRUSTED",
                  "This service runs only its clients' known operations (trusted documents): send the text of one of its documents.",
                ),
                logger,
              ),
            ];
          }
          const { schema, execute, subscribe, contextFactory, parse, validate } = app.graphql.getEnveloped({
            request: requestOf(ctx.connectionParams),
            params: payload,
          });
          const document = parse(payload.query);
          const problems = validate(schema, document);
          if (problems.length > 0) return problems.map((problem: GraphQLError) => toGraphQLError(problem, logger));
          return {
            schema,
            document,
            operationName: payload.operationName ?? null,
            variableValues: payload.variables ?? null,
            contextValue: await contextFactory(),
            rootValue: { execute, subscribe } satisfies Root,
          };
        } catch (error) {
          return [toGraphQLError(error, logger)];
        }
      },
      // Errors leave as they do over HTTP: coded, masked when unexpected.
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors ? { data: result.data ?? null, errors: mask(result.errors) } : undefined,
      onError: (_ctx, _id, _payload, errors) => mask(errors),
    },
    wss,
  );

  return {
    async close() {
      server.off("upgrade", onUpgrade);
      // 1001: going away; clients reconnect (elsewhere) and resume from their last cursor.
      for (const client of wss.clients) client.close(1001, "server shutting down");
      // A peer that does not answer the close handshake is cut after a second.
      const cut = setTimeout(() => {
        for (const client of wss.clients) client.terminate();
      }, 1_000);
      await disposable.dispose();
      clearTimeout(cut);
    },
  };
}
