import { lookup } from "node:dns/promises";
import { createServer, type IncomingMessage } from "node:http";
import { connect, isIP, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { type RawData, type WebSocket, WebSocketServer } from "ws";
import { isLoopback } from "./loopback.js";

/**
 * A loopback stand-in for Neon's local-development proxy (github.com/neondatabase/wsproxy):
 * the Neon serverless driver opens `ws://<proxy>/v1?address=<host>:<port>` and
 * the proxy pipes binary frames to and from a TCP connection to that address.
 *
 * Unlike wsproxy it has no fixed fallback target: a request without
 * `?address=` is refused, so a driver that does not say where it wants to go
 * fails loudly instead of reaching some default database. It only ever
 * connects to loopback addresses, and it counts what it carries so that a test
 * can tell that the traffic really went through it.
 */

/** The path the proxy serves, as in wsproxy's `<host>/v1` convention. */
const PATH = "/v1";

export interface ProxiedConnection {
  /** `host:port` as the driver asked for it in `?address=`. */
  readonly target: string;
  /** The local port of the proxy's TCP socket: what the database sees as the client port. */
  localPort: number | undefined;
  bytesToServer: number;
  bytesToClient: number;
  open: boolean;
}

export interface WebSocketProxy {
  /** What the Neon driver takes as `wsProxy` (no scheme): `127.0.0.1:<port>/v1`. */
  readonly address: string;
  /** Every connection the proxy carried, in the order they were opened. */
  readonly connections: readonly ProxiedConnection[];
  /** One line per refused or failed upgrade, saying why. */
  readonly refusals: readonly string[];
  /** Stops listening and closes every WebSocket and TCP socket it holds. */
  close(): Promise<void>;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Where a request wants to go, resolved to a loopback IP. A name is accepted
 * only if every address it resolves to is loopback, and the proxy then dials
 * the resolved IP, so a second lookup cannot send it anywhere else.
 */
async function destination(request: IncomingMessage): Promise<{ target: string; ip: string; port: number }> {
  const url = new URL(request.url ?? "/", "ws://proxy.invalid");
  if (url.pathname !== PATH) throw new Refused(404, `unknown path ${url.pathname} (expected ${PATH})`);
  const target = url.searchParams.get("address");
  if (target === null || target === "") {
    throw new Refused(400, `no ?address=<host>:<port> in ${request.url ?? ""}`);
  }
  // host:port, where an IPv6 host may be bracketed: [::1]:5432.
  const match = /^\[?([^[\]]+?)\]?:(\d{1,5})$/.exec(target);
  const host = match?.[1];
  const port = Number(match?.[2]);
  if (host === undefined || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new Refused(400, `address ${target} is not <host>:<port>`);
  }
  const ips = isIP(host) !== 0 ? [host] : (await lookup(host, { all: true })).map((entry) => entry.address);
  const [ip] = ips;
  if (ip === undefined || !ips.every(isLoopback)) {
    throw new Refused(403, `address ${target} is not a loopback address`);
  }
  return { target, ip, port };
}

function bytesOf(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

/** Starts the proxy on 127.0.0.1 on a port the system picks. */
export async function startWebSocketProxy(): Promise<WebSocketProxy> {
  const connections: ProxiedConnection[] = [];
  const refusals: string[] = [];
  // Everything that must be torn down on close: upgraded client sockets,
  // WebSockets and the TCP sockets to the database.
  const clientSockets = new Set<Duplex>();
  const webSockets = new Set<WebSocket>();
  const tcpSockets = new Set<Socket>();
  let closed = false;

  const http = createServer((_request, response) => {
    response.writeHead(426, { "content-type": "text/plain" }).end("WebSocket upgrade required\n");
  });
  const wss = new WebSocketServer({ noServer: true });

  const refuse = (socket: Duplex, status: number, reason: string) => {
    refusals.push(reason);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    // Destroy only once the answer is flushed, or the driver may see a reset instead of the status.
    socket.once("finish", () => socket.destroy());
    socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };

  http.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    clientSockets.add(socket);
    socket.once("close", () => clientSockets.delete(socket));
    socket.on("error", () => socket.destroy());
    void (async () => {
      let where: Awaited<ReturnType<typeof destination>>;
      try {
        where = await destination(request);
      } catch (error) {
        const status = error instanceof Refused ? error.status : 400;
        refuse(socket, status, error instanceof Error ? error.message : String(error));
        return;
      }
      // Dial before completing the upgrade: if the database is not there the
      // driver gets an HTTP error at once rather than an open-then-closed socket.
      const tcp = connect({ host: where.ip, port: where.port });
      tcpSockets.add(tcp);
      tcp.once("close", () => tcpSockets.delete(tcp));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once("connect", resolve);
          tcp.once("error", reject);
        });
      } catch (error) {
        tcp.destroy();
        refuse(socket, 502, `cannot reach ${where.target}: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      if (closed || socket.destroyed) {
        tcp.destroy();
        socket.destroy();
        return;
      }
      tcp.setNoDelay(true);
      wss.handleUpgrade(request, socket, head, (ws) => pipe(ws, tcp, where.target));
    })();
  });

  function pipe(ws: WebSocket, tcp: Socket, target: string) {
    const connection: ProxiedConnection = {
      target,
      localPort: tcp.localPort,
      bytesToServer: 0,
      bytesToClient: 0,
      open: true,
    };
    connections.push(connection);
    webSockets.add(ws);

    // The PostgreSQL protocol is a byte stream, so frame boundaries carry no
    // meaning: every frame's payload is written to TCP as is, and every TCP
    // chunk becomes one binary frame. (No backpressure: test traffic is small.)
    ws.on("message", (data) => {
      const bytes = bytesOf(data);
      connection.bytesToServer += bytes.length;
      tcp.write(bytes);
    });
    tcp.on("data", (chunk: Buffer) => {
      connection.bytesToClient += chunk.length;
      ws.send(chunk, { binary: true });
    });

    // Whichever side ends first takes the other down with it.
    const finish = () => {
      if (!connection.open) return;
      connection.open = false;
      webSockets.delete(ws);
      tcp.destroy();
      if (ws.readyState === ws.OPEN) ws.close(1000);
      else ws.terminate();
    };
    ws.on("close", finish);
    ws.on("error", finish);
    tcp.on("close", finish);
    tcp.on("error", finish);
  }

  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(0, "127.0.0.1", () => resolve());
  });
  const bound = http.address();
  if (bound === null || typeof bound === "string") throw new Error("the proxy is not listening on a TCP port");

  return {
    address: `127.0.0.1:${bound.port}${PATH}`,
    connections,
    refusals,
    async close() {
      closed = true;
      const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
      // http.close() waits for every connection, upgraded ones included, so
      // end them all: terminate() drops a WebSocket without a closing handshake.
      for (const ws of webSockets) ws.terminate();
      for (const tcp of tcpSockets) tcp.destroy();
      for (const socket of clientSockets) socket.destroy();
      http.closeAllConnections();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await stopped;
    },
  };
}
