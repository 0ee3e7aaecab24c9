// Which process groups are alive, and stopping them: how the local executor tracks
// runs that outlive the instance that started them. Each rank of a local run is the
// leader of its own process group (spawned detached), so its pid is its group id.
import { readdirSync, readFileSync } from 'node:fs';

/** A group leader as first seen: its pid and, on Linux, its start time (to tell a reused pid). */
export interface GroupLeader {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); null where there is no /proc. */
  readonly startTicks: number | null;
}

interface ProcStat {
  readonly state: string;
  readonly pgrp: number;
  readonly startTicks: number;
}

const hasProc = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

function procStat(pid: string | number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const [state, , pgrp] = fields;
  const startTicks = Number(fields[19]);
  if (state === undefined || pgrp === undefined || !Number.isFinite(startTicks)) return null;
  return { state, pgrp: Number(pgrp), startTicks };
}

/** The leader identity of a process just spawned (null start time if it is already gone). */
export function groupLeader(pid: number): GroupLeader {
  return { pid, startTicks: hasProc ? (procStat(pid)?.startTicks ?? null) : null };
}

/** Zombies (and dead processes) count as gone: PID 1 may reap late, and a zombie holds no GPU. */
const gone = (stat: ProcStat | null) => stat === null || stat.state === 'Z' || stat.state === 'X';

/**
 * Which process groups are alive, for one check. Most groups are settled by one
 * signal 0 to the group and one read of the leader's /proc stat; only a group whose
 * leader is gone or a zombie needs a scan of /proc (its other members), taken at
 * most once per check and only then — a scan costs a read per process on the machine.
 */
export class ProcessSnapshot {
  private groups: Set<number> | null = null;

  /** `children`: pids of leaders this process spawned and has not yet seen exit (alive: nothing to look at). */
  constructor(private readonly children: ReadonlySet<number> = new Set()) {}

  /**
   * Whether any process of `leader`'s group is alive. A live process with the
   * leader's pid but another start time is a stranger: the pid was reused, so the
   * group is gone (the kernel does not reuse a pid while its group has members).
   */
  alive(leader: GroupLeader): boolean {
    if (this.children.has(leader.pid)) return true;
    // No process at all in the group (ESRCH): gone, whatever /proc would say.
    if (!signalGroup(leader.pid, 0)) return false;
    if (!hasProc) return true;
    const stat = procStat(leader.pid);
    if (stat !== null && leader.startTicks !== null && stat.startTicks !== leader.startTicks) return false;
    if (!gone(stat)) return true;
    return this.scan().has(leader.pid);
  }

  /** The groups with a live member, from one scan of /proc. */
  private scan(): Set<number> {
    if (this.groups !== null) return this.groups;
    const groups = new Set<number>();
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = procStat(entry);
      if (!gone(stat) && stat !== null) groups.add(stat.pgrp);
    }
    this.groups = groups;
    return groups;
  }
}

/** Sends `signal` to every process of the group; false if the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    if ((err as NodeJS.ErrnoException).code === 'EPERM') return true;
    throw err;
  }
}
