import { BlockList, isIP } from "node:net";

const loopback = new BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** Whether `ip` is a loopback address: the only kind the test proxies ever connect to. */
export function isLoopback(ip: string): boolean {
  const family = isIP(ip);
  // BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 subnet.
  return family !== 0 && loopback.check(ip, family === 4 ? "ipv4" : "ipv6");
}
