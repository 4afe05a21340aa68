import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { JWK } from "jose";

/** Where Better Auth's JWT plugin publishes its public keys. */
export const jwksPath = "/api/auth/jwks";

/** How the server answers requests for the key set. */
export type JwksBehaviour = "serve" | "fail" | "hang";

export interface JwksServer {
  /** `http://127.0.0.1:<port>`: Better Auth's base URL, which it also uses as `iss` and `aud`. */
  readonly baseUrl: string;
  /** `<baseUrl>/api/auth/jwks`: what AUTH_JWKS_URL points at. */
  readonly jwksUrl: string;
  /** Requests for the key set received so far (answered, failed or hanging). */
  readonly requests: number;
  /** Whether the server is listening. */
  readonly listening: boolean;
  /** The keys served from now on. */
  setKeys(keys: JWK[]): void;
  /** "serve": 200 with the keys; "fail": 500; "hang": accepts the request and never answers. */
  setBehaviour(behaviour: JwksBehaviour): void;
  /** Stops listening and drops every connection, hanging ones included. Idempotent. */
  close(): Promise<void>;
  /** Listens again on the same port after close(). */
  reopen(): Promise<void>;
}

/** The env that points the app at this server in Better Auth's JWKS mode. */
export function jwksEnv(server: JwksServer, extra: Record<string, string> = {}): Record<string, string> {
  return {
    // startTestApp sets AUTH_SECRET by default; loadConfig treats "" as unset.
    AUTH_SECRET: "",
    AUTH_JWKS_URL: server.jwksUrl,
    AUTH_ISSUER: server.baseUrl,
    AUTH_AUDIENCE: server.baseUrl,
    AUTH_JWKS_COOLDOWN_MS: "300",
    AUTH_JWKS_TIMEOUT_MS: "500",
    ...extra,
  };
}

/** A real HTTP server on 127.0.0.1 (ephemeral port) serving `{ keys }` at /api/auth/jwks. */
export async function startJwksServer(initialKeys: JWK[] = []): Promise<JwksServer> {
  let keys = initialKeys;
  let behaviour: JwksBehaviour = "serve";
  let requests = 0;
  const hanging = new Set<ServerResponse>();

  const server = createServer((request, response) => {
    const path = new URL(request.url ?? "/", "http://jwks.invalid").pathname;
    if (request.method !== "GET" || path !== jwksPath) {
      response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
      return;
    }
    requests++;
    if (behaviour === "hang") {
      hanging.add(response);
      response.on("close", () => hanging.delete(response));
      return;
    }
    if (behaviour === "fail") {
      response.writeHead(500, { "content-type": "application/json" }).end('{"error":"internal"}');
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys }));
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });

  await listen(0);
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    baseUrl,
    jwksUrl: `${baseUrl}${jwksPath}`,
    get requests() {
      return requests;
    },
    get listening() {
      return server.listening;
    },
    setKeys(next) {
      keys = next;
    },
    setBehaviour(next) {
      behaviour = next;
    },
    async close() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      for (const response of hanging) response.destroy();
      hanging.clear();
      server.closeAllConnections();
      await closed;
    },
    async reopen() {
      if (!server.listening) await listen(port);
    },
  };
}
