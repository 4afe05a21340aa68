import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** Clock ticks per second, the unit of utime/stime in /proc/<pid>/stat. */
export const clockTicks: number = (() => {
  try {
    const value = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    return Number.isFinite(value) && value > 0 ? value : 100;
  } catch {
    return 100;
  }
})();

/** CPU time (user + system, all threads) a process has used, in milliseconds. */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name is in parentheses and may contain spaces: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / clockTicks;
}

/** The process and all its descendants (a server that forks workers, e.g. node:cluster, counts as one). */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // ended between listing and reading
    }
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) tree.push(...(children.get(tree[i] ?? -1) ?? []));
  return tree;
}

/** CPU ms of a process and its descendants, per pid (for differences across a run). */
export function treeCpu(pid: number): Map<number, number> {
  const usage = new Map<number, number>();
  for (const member of processTree(pid)) {
    try {
      usage.set(member, cpuMs(member));
    } catch {
      // ended
    }
  }
  return usage;
}

/** Growth between two snapshots of per-process CPU ms (a process new in `after` counts whole). */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, used] of after) total += Math.max(0, used - (before.get(pid) ?? 0));
  return total;
}

function comm(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** CPU used so far by each PostgreSQL process on this machine (postmaster, backends, background workers), in ms. */
export function postgresCpu(): Map<number, number> {
  const usage = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    if (comm(entry) !== "postgres") continue;
    try {
      usage.set(Number(entry), cpuMs(Number(entry)));
    } catch {
      // ended between listing and reading
    }
  }
  return usage;
}

/** CPU time the whole machine has been busy (all cores, any process), in ms. */
export function machineBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  const busy = [user, nice, system, irq, softirq, steal].reduce<number>((total, value) => total + (value ?? 0), 0);
  return (busy * 1000) / clockTicks;
}

/** Peak resident set size (VmHWM) in MiB; for a process tree, the sum of its members' peaks. */
export function peakRssMb(pid: number): number {
  return statusMb(pid, "VmHWM");
}

/** Resident set size now (VmRSS) in MiB; for a process tree, the sum of its members'. */
export function rssMb(pid: number): number {
  return statusMb(pid, "VmRSS");
}

function statusMb(pid: number, field: "VmHWM" | "VmRSS"): number {
  let total = 0;
  for (const member of processTree(pid)) {
    try {
      const status = readFileSync(`/proc/${member}/status`, "utf8");
      const match = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
      if (match?.[1] !== undefined) total += Number(match[1]) / 1024;
    } catch {
      // ended
    }
  }
  return total;
}

/**
 * Resets the peak RSS of a process tree to its current RSS (Linux >= 4.0:
 * write 5 to clear_refs), so that each run reports its own peak. Returns false where
 * that is not allowed; the peak is then the process's lifetime peak.
 */
export function resetPeakRss(pid: number): boolean {
  let reset = true;
  for (const member of processTree(pid)) {
    try {
      writeFileSync(`/proc/${member}/clear_refs`, "5");
    } catch {
      reset = false;
    }
  }
  return reset;
}

export function cpuModel(): string {
  try {
    const info = readFileSync("/proc/cpuinfo", "utf8");
    return /^model name\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}
