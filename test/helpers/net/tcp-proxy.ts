import { connect, createServer, type Server, type Socket } from "node:net";
import { isLoopback } from "./loopback.js";

/**
 * A loopback TCP proxy in front of the PostgreSQL server a URL names, for
 * simulating database outages without touching the server:
 *
 * - `pass()`: traffic flows both ways (the default);
 * - `refuse("close")`: the listening socket is closed, so new connections are
 *   refused (ECONNREFUSED); `refuse("reset")`: it keeps listening but resets
 *   every new connection as soon as it is accepted (ECONNRESET);
 * - `drop()`: destroys every current connection, both sides (a FIN by
 *   default, a TCP reset with `drop("reset")`);
 * - `dropOn(text)`: the next chunk a client sends that holds `text` (a
 *   statement, say `COMMIT`) is not passed on, and its connection is dropped;
 * - `holdFromServer()`: what servers send is held back until `releaseHeld()`,
 *   which delivers each connection's held bytes in one write (one chunk to
 *   the client: a reply and whatever the server sent after it, its goodbye
 *   included, are read together) and then closes the client side if the
 *   server closed meanwhile;
 * - `delay(ms)`: every chunk, in both directions, is held for `ms` before it
 *   is passed on (order is kept);
 * - `blackhole()`: a hanging database. New connections are accepted and never
 *   forwarded; current ones stop carrying bytes either way (the proxy stops
 *   reading them, so the bytes wait in the kernel). `pass()` lets them flow
 *   again, as a healed network partition would.
 *
 * It counts connections, so that a test can tell that traffic went through it
 * and how many connections the client opened at once. It only ever connects
 * to a loopback address.
 */

export type RefuseHow = "close" | "reset";

export interface TcpProxyStats {
  /** Client connections accepted, in any mode. */
  accepted: number;
  /** Client connections accepted and reset at once in `refuse("reset")` mode. */
  reset: number;
  /** Connections made to the upstream server. */
  upstream: number;
  /** Client connections open now. */
  open: number;
  /** The most client connections that were open at the same time. */
  maxOpen: number;
  /** Bytes received from clients (held or not), and from the server. */
  bytesFromClients: number;
  bytesFromServer: number;
  /** Bytes passed on to the server, and to clients. */
  bytesToServer: number;
  bytesToClient: number;
}

export interface TcpProxy {
  readonly host: "127.0.0.1";
  readonly port: number;
  /** The current mode: "pass", "refuse", "blackhole". */
  readonly mode: "pass" | "refuse" | "blackhole";
  readonly stats: Readonly<TcpProxyStats>;
  /** The target URL with its host and port replaced by the proxy's: the same database, through the proxy. */
  readonly url: string;
  /** Carry traffic (again); listens again on the same port if it had stopped. */
  pass(): Promise<void>;
  /** Refuse new connections: by closing the listening socket, or by resetting each one. */
  refuse(how?: RefuseHow): Promise<void>;
  /** Destroy every current connection (client and upstream sides). */
  drop(how?: "end" | "reset"): void;
  /**
   * The next client chunk that holds `text` is not passed on: its connection
   * is dropped instead (FIN or reset), so that statement is lost on the way.
   */
  dropOn(text: string, how?: "end" | "reset"): void;
  /** Hold back what servers send (see releaseHeld). */
  holdFromServer(): void;
  /** Delivers what was held, one write per connection, then closes those whose server has closed. */
  releaseHeld(): void;
  /** Hold each chunk for `ms` before passing it on (0: no delay). */
  delay(ms: number): void;
  /** Accept, never forward: new and current connections hang. */
  blackhole(): void;
  /** Resolves once `stats` satisfies `predicate` (polled), or rejects after `timeoutMs`. */
  waitFor(predicate: (stats: Readonly<TcpProxyStats>) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops listening, destroys every socket and timer. Idempotent. */
  close(): Promise<void>;
}

/** One direction of a proxied connection: chunks go out in order, each no earlier than its due time. */
class Lane {
  private readonly queue: { chunk: Buffer; due: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly to: Socket,
    private readonly count: (bytes: number) => void,
  ) {}

  push(chunk: Buffer, delayMs: number): void {
    if (delayMs <= 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    this.queue.push({ chunk, due: Date.now() + delayMs });
    this.schedule();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
  }

  private schedule(): void {
    const [head] = this.queue;
    if (this.timer !== undefined || head === undefined) return;
    this.timer = setTimeout(() => this.flush(), Math.max(0, head.due - Date.now()));
  }

  private flush(): void {
    this.timer = undefined;
    const now = Date.now();
    for (let head = this.queue[0]; head !== undefined && head.due <= now; head = this.queue[0]) {
      this.queue.shift();
      this.write(head.chunk);
    }
    this.schedule();
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed || !this.to.writable) return;
    this.count(chunk.length);
    this.to.write(chunk);
  }
}

interface Connection {
  client: Socket;
  upstream: Socket | undefined;
  lanes: Lane[];
  closed: boolean;
  /** Bytes from the server held back (holdFromServer), and whether the server has closed since. */
  held: Buffer[];
  serverClosed: boolean;
}

/**
 * Starts a proxy on 127.0.0.1 (a port the system picks) in front of the
 * server of `targetUrl` (a postgres:// URL; its port, or PostgreSQL's 5432).
 */
export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const parsed = new URL(targetUrl);
  const host = parsed.hostname === "localhost" ? "127.0.0.1" : parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  const target = { host, port: Number(parsed.port || 5432) };
  if (!isLoopback(target.host)) throw new Error(`the proxy only forwards to loopback addresses, not ${target.host}`);

  let mode: TcpProxy["mode"] = "pass";
  let refuseHow: RefuseHow = "close";
  let delayMs = 0;
  let holding = false;
  let tripwire: { bytes: Buffer; how: "end" | "reset" } | undefined;
  let closed = false;
  const connections = new Set<Connection>();
  const stats: TcpProxyStats = {
    accepted: 0,
    reset: 0,
    upstream: 0,
    open: 0,
    maxOpen: 0,
    bytesFromClients: 0,
    bytesFromServer: 0,
    bytesToServer: 0,
    bytesToClient: 0,
  };

  const finish = (connection: Connection, how: "end" | "reset" = "end") => {
    if (connection.closed) return;
    connection.closed = true;
    connections.delete(connection);
    stats.open--;
    for (const lane of connection.lanes) lane.clear();
    for (const socket of [connection.client, connection.upstream]) {
      if (socket === undefined || socket.destroyed) continue;
      if (how === "reset") socket.resetAndDestroy();
      else socket.destroy();
    }
  };

  /** Connects `connection` to the server and starts carrying bytes. */
  const forward = (connection: Connection) => {
    const { client } = connection;
    const upstream = connect({ host: target.host, port: target.port });
    connection.upstream = upstream;
    stats.upstream++;
    upstream.setNoDelay(true);
    const serverGone = () => {
      if (connection.held.length > 0) connection.serverClosed = true;
      else finish(connection);
    };
    upstream.on("error", serverGone);
    upstream.on("close", serverGone);
    const toServer = new Lane(upstream, (bytes) => {
      stats.bytesToServer += bytes;
    });
    const toClient = new Lane(client, (bytes) => {
      stats.bytesToClient += bytes;
    });
    connection.lanes = [toServer, toClient];
    client.on("data", (chunk: Buffer) => {
      stats.bytesFromClients += chunk.length;
      if (tripwire !== undefined && chunk.includes(tripwire.bytes)) {
        const { how } = tripwire;
        tripwire = undefined;
        finish(connection, how);
        return;
      }
      toServer.push(chunk, delayMs);
    });
    upstream.on("data", (chunk: Buffer) => {
      stats.bytesFromServer += chunk.length;
      if (holding) connection.held.push(chunk);
      else toClient.push(chunk, delayMs);
    });
    client.resume();
  };

  const accept = (client: Socket) => {
    stats.accepted++;
    if (closed || (mode === "refuse" && refuseHow === "reset")) {
      stats.reset++;
      client.on("error", () => {});
      client.resetAndDestroy();
      return;
    }
    const connection: Connection = {
      client,
      upstream: undefined,
      lanes: [],
      closed: false,
      held: [],
      serverClosed: false,
    };
    connections.add(connection);
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    client.setNoDelay(true);
    client.on("error", () => finish(connection));
    client.on("close", () => finish(connection));
    // In blackhole mode the connection stays accepted and paused: nothing is
    // read from the client and no upstream connection is made until pass().
    if (mode !== "blackhole") forward(connection);
  };

  /**
   * The listening socket. A new Server each time it listens: a closed one
   * keeps waiting for its connections (which this proxy tracks and ends on its
   * own), and must not stand in the way of listening again.
   */
  let server: Server | undefined;
  const listen = async (port: number) => {
    for (let attempt = 0; ; attempt++) {
      const next = createServer({ pauseOnConnect: true }, accept);
      try {
        await new Promise<void>((resolve, reject) => {
          next.once("error", reject);
          next.listen({ port, host: "127.0.0.1", exclusive: true }, () => {
            next.off("error", reject);
            resolve();
          });
        });
        server = next;
        return next;
      } catch (error) {
        // The port of a socket closed a moment ago may take a moment to be free.
        if ((error as { code?: string }).code !== "EADDRINUSE" || attempt >= 50) throw error;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };
  /** Closed servers still waiting for their accepted connections to end. */
  const closing = new Set<Promise<void>>();
  const stopListening = () => {
    const current = server;
    server = undefined;
    if (current === undefined) return;
    // Stops accepting at once; connections already accepted are not waited for here.
    const closed = new Promise<void>((resolve) => current.close(() => resolve()));
    closing.add(closed);
    void closed.then(() => closing.delete(closed));
  };

  const address = (await listen(0)).address();
  if (address === null || typeof address === "string") throw new Error("the proxy is not listening on a TCP port");
  const { port } = address;

  const proxy: TcpProxy = {
    host: "127.0.0.1",
    port,
    get mode() {
      return mode;
    },
    stats,
    url: Object.assign(new URL(targetUrl), { hostname: "127.0.0.1", port: String(port) }).toString(),
    async pass() {
      if (closed) throw new Error("the proxy is closed");
      const wasBlackhole = mode === "blackhole";
      mode = "pass";
      if (server === undefined) await listen(port);
      if (wasBlackhole) {
        for (const connection of connections) {
          if (connection.upstream === undefined) forward(connection);
          else {
            connection.client.resume();
            connection.upstream.resume();
          }
        }
      }
    },
    async refuse(how = "close") {
      mode = "refuse";
      refuseHow = how;
      if (how === "close") stopListening();
      else if (server === undefined) await listen(port);
    },
    drop(how = "end") {
      for (const connection of [...connections]) finish(connection, how);
    },
    holdFromServer() {
      holding = true;
    },
    releaseHeld() {
      holding = false;
      for (const connection of [...connections]) {
        if (connection.held.length === 0) continue;
        const bytes = Buffer.concat(connection.held.splice(0));
        stats.bytesToClient += bytes.length;
        if (connection.serverClosed) connection.client.end(bytes);
        else connection.client.write(bytes);
      }
    },
    dropOn(text, how = "end") {
      tripwire = { bytes: Buffer.from(text), how };
    },
    delay(ms) {
      delayMs = ms;
    },
    blackhole() {
      mode = "blackhole";
      for (const connection of connections) {
        connection.client.pause();
        connection.upstream?.pause();
      }
    },
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(stats)) {
        if (Date.now() > deadline)
          throw new Error(`proxy: condition not met in ${timeoutMs} ms: ${JSON.stringify(stats)}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      stopListening();
      for (const connection of [...connections]) finish(connection);
      await Promise.all(closing);
    },
  };
  return proxy;
}
