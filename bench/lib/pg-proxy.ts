import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A TCP proxy in front of PostgreSQL that reads what clients send and counts
 * it, so statements per request can be counted exactly without
 * pg_stat_statements (which needs shared_preload_libraries, and a server
 * restart, to be there). Counted in the frontend protocol:
 *
 *   statements  = Execute ('E') + simple Query ('Q') messages
 *   roundTrips  = Sync ('S') + simple Query ('Q'): each waits for the server
 *   parses      = Parse ('P'): statements prepared (named or not)
 *
 * Server-to-client traffic is passed through untouched. Used only in the
 * statement-count pass, never in timed runs.
 */
export interface WireCounts {
  statements: number;
  roundTrips: number;
  parses: number;
  connections: number;
}

export interface CountingProxy {
  port: number;
  counts(): WireCounts;
  close(): Promise<void>;
}

export async function startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy> {
  const totals: WireCounts = { statements: 0, roundTrips: 0, parses: 0, connections: 0 };
  const sockets = new Set<Socket>();

  const server: Server = createServer((client) => {
    totals.connections++;
    const upstream = createConnection(target);
    sockets.add(client);
    sockets.add(upstream);
    let pending: Buffer = Buffer.alloc(0);
    let started = false;

    const count = (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let offset = 0;
      for (;;) {
        if (!started) {
          // StartupMessage / SSLRequest / CancelRequest: int32 length, no type byte.
          if (pending.length - offset < 4) break;
          const length = pending.readInt32BE(offset);
          if (pending.length - offset < length) break;
          const code = pending.readInt32BE(offset + 4);
          offset += length;
          // SSLRequest (80877103) and GSSENCRequest (80877104) are followed by another startup message.
          if (code !== 80877103 && code !== 80877104) started = true;
          continue;
        }
        if (pending.length - offset < 5) break;
        const type = String.fromCharCode(pending[offset] ?? 0);
        const length = pending.readInt32BE(offset + 1);
        if (pending.length - offset < length + 1) break;
        if (type === "E" || type === "Q") totals.statements++;
        if (type === "S" || type === "Q") totals.roundTrips++;
        if (type === "P") totals.parses++;
        offset += length + 1;
      }
      pending = pending.subarray(offset);
    };

    client.on("data", (chunk: Buffer) => {
      count(chunk);
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => client.write(chunk));
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("The counting proxy has no port.");

  return {
    port: address.port,
    counts: () => ({ ...totals }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
