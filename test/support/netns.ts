// Two sites in network namespaces of their own, for tests of jobs that span sites. Each
// namespace reaches the root namespace (where the control plane listens) over a bridge
// this file creates, and the two reach each other over one link whose bandwidth `tc tbf`
// shapes in each direction (this kernel has tbf and htb, not netem). Only the addresses
// made here are used, and everything made here is removed after (and, left over from a
// run that was killed, before).
import { spawnSync } from 'node:child_process';

/** The control plane listens here, on the bridge in the root namespace. */
export const SERVER_ADDRESS = '10.213.0.1';

/** One site: its namespace, its end of the shaped link and the address on it. */
export interface NetSite {
  readonly namespace: string;
  /** Where the other site's parts reach this site's runs: on the shaped link. */
  readonly linkAddress: string;
  readonly linkInterface: string;
}

export const NET_SITES: readonly [NetSite, NetSite] = [
  { namespace: 'suanli-site-a', linkAddress: '10.213.1.1', linkInterface: 'suanli-ab' },
  { namespace: 'suanli-site-b', linkAddress: '10.213.1.2', linkInterface: 'suanli-ba' },
];
const BRIDGE = 'suanli-br0';
/** Per site: the veth end on the bridge (root namespace) and the one in the site's namespace, with its address. */
const UPLINKS = [
  { root: 'suanli-a0', inside: 'suanli-a1', address: '10.213.0.2' },
  { root: 'suanli-b0', inside: 'suanli-b1', address: '10.213.0.3' },
] as const;

function run(argv: readonly string[], allowFailure = false): string {
  const r = spawnSync(argv[0] ?? '', argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0 && !allowFailure) throw new Error(`${argv.join(' ')}: exit ${r.status ?? r.signal}: ${r.stderr.trim() || r.error?.message || ''}`);
  return r.stdout;
}

/** Why two namespaces joined by a shaped link cannot be made here, or undefined. */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const tool of [['ip', '-V'], ['tc', '-V']]) {
    if (spawnSync(tool[0] ?? '', tool.slice(1)).status !== 0) return `\`${tool[0] ?? ''}\` is not installed (Debian: iproute2)`;
  }
  return undefined;
}

/** `argv` run inside the site's namespace. */
export const inSite = (site: NetSite, argv: readonly string[]): string[] => ['ip', 'netns', 'exec', site.namespace, ...argv];

/** Removes what `createTwoSites` makes (whatever of it exists), and ends every process left in the namespaces. */
export function removeTwoSites(): void {
  for (const s of NET_SITES) {
    for (const pid of run(['ip', 'netns', 'pids', s.namespace], true).split('\n').filter((p) => /^\d+$/.test(p))) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone already
      }
    }
    run(['ip', 'netns', 'del', s.namespace], true);
  }
  for (const u of UPLINKS) run(['ip', 'link', 'del', u.root], true);
  run(['ip', 'link', 'del', BRIDGE], true);
}

/** Makes the two sites' namespaces, the bridge to the root namespace and the link between them (not shaped yet). */
export function createTwoSites(): void {
  removeTwoSites();
  const taken = run(['ip', '-4', '-o', 'addr', 'show']);
  if (/\b10\.213\.[01]\./.test(taken)) throw new Error(`10.213.0.0/23 is in use on this machine already; these tests need it:\n${taken}`);
  try {
    run(['ip', 'link', 'add', BRIDGE, 'type', 'bridge']);
    run(['ip', 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', BRIDGE]);
    run(['ip', 'link', 'set', BRIDGE, 'up']);
    NET_SITES.forEach((site, i) => {
      const up = UPLINKS[i];
      if (up === undefined) return;
      run(['ip', 'netns', 'add', site.namespace]);
      run(['ip', '-n', site.namespace, 'link', 'set', 'lo', 'up']);
      // TCP as a site tunes it for long transfers with idle gaps: no slow start again after each outer step's compute,
      // and Reno, whose rate over a token bucket is steady (BBR, this host's default, probes the bandwidth in steps
      // that make one synchronization take up to a fifth longer than the next).
      run(inSite(site, ['sysctl', '-qw', 'net.ipv4.tcp_congestion_control=reno', 'net.ipv4.tcp_slow_start_after_idle=0']));
      run(['ip', 'link', 'add', up.root, 'type', 'veth', 'peer', 'name', up.inside]);
      run(['ip', 'link', 'set', up.inside, 'netns', site.namespace]);
      run(['ip', 'link', 'set', up.root, 'master', BRIDGE]);
      run(['ip', 'link', 'set', up.root, 'up']);
      run(['ip', '-n', site.namespace, 'addr', 'add', `${up.address}/24`, 'dev', up.inside]);
      run(['ip', '-n', site.namespace, 'link', 'set', up.inside, 'up']);
    });
    const [a, b] = NET_SITES;
    run(['ip', 'link', 'add', a.linkInterface, 'type', 'veth', 'peer', 'name', b.linkInterface]);
    for (const site of NET_SITES) {
      run(['ip', 'link', 'set', site.linkInterface, 'netns', site.namespace]);
      run(['ip', '-n', site.namespace, 'addr', 'add', `${site.linkAddress}/30`, 'dev', site.linkInterface]);
      run(['ip', '-n', site.namespace, 'link', 'set', site.linkInterface, 'up']);
    }
  } catch (err) {
    removeTwoSites();
    throw err;
  }
}

/**
 * Shapes the link between the sites to `mbit` megabits a second in each direction: a token bucket on each end's
 * egress, with a burst of 64 KB (more than one timer tick's worth at these rates) and up to 100 ms of queue.
 */
export function shapeLink(mbit: number): void {
  for (const site of NET_SITES) run(inSite(site, ['tc', 'qdisc', 'replace', 'dev', site.linkInterface, 'root', 'tbf', 'rate', `${mbit}mbit`, 'burst', '64kb', 'latency', '100ms']));
}
