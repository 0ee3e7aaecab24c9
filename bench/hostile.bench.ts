// A hostile member's flood next to an honest member's requests, against `suanli serve`
// (the real command, in its own process, on the embedded store): the honest member's
// latency (p50/p99 of GET /api/v1/jobs?limit=1 at a steady 100/s, autocannon in
// another process) with no flood, and while another process floods the server as fast
// as it can with one of: an agent's heartbeats listing 30,000 runs (its site declares
// 16,384 GPUs, so they are within its limit and fully checked), run reports for jobs
// that are not its site's (each with a 64 KiB log; from that site, whose allowance is
// 16,384 a second, and from an 8-GPU site's agent), and sign-ins with wrong secrets.
// Medians over SUANLI_BENCH_ROUNDS rounds (3) of SUANLI_BENCH_SECONDS (10) each.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { report, summarize, type BenchResult } from './harness.ts';
import { ADMIN, ROOT, api, startServer, stop, type Server } from './serve.bench.ts';

const SECONDS = Number(process.env.SUANLI_BENCH_SECONDS ?? 10);
const ROUNDS = Number(process.env.SUANLI_BENCH_ROUNDS ?? 3);
/** The target the issue sets: an honest member's p99 during any flood. */
const HONEST_P99_MS = 100;

interface Cannon {
  readonly requests: { readonly average: number };
  readonly latency: { readonly p50: number; readonly p99: number };
  readonly statusCodeStats?: Record<string, { count: number }>;
}

interface Load {
  readonly path: string;
  readonly method: 'GET' | 'POST';
  readonly token: string;
  /** A file holding the body (bodies of a megabyte do not fit a command line). */
  readonly bodyFile?: string;
  readonly connections: number;
  /** Requests per second; unset: as fast as the server answers. */
  readonly rate?: number;
}

async function cannon(server: Server, load: Load, seconds: number): Promise<Cannon> {
  const args = [
    join(ROOT, 'node_modules', 'autocannon', 'autocannon.js'), '-c', String(load.connections), '-d', String(seconds), '-m', load.method,
    '-H', `authorization=Bearer ${load.token}`, ...(load.bodyFile === undefined ? [] : ['-H', 'content-type=application/json', '-i', load.bodyFile]),
    '-j', '-n', ...(load.rate === undefined ? [] : ['-R', String(load.rate)]), `${server.url}${load.path}`,
  ];
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 << 20 });
  return JSON.parse(stdout) as Cannon;
}

const codes = (c: Cannon): string => Object.entries(c.statusCodeStats ?? {}).map(([code, s]) => `${code}×${s.count}`).join(' ');

export async function benchHostile(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'suanli-bench-hostile-'));
  const server = await startServer(join(dir, 'data'), undefined);
  try {
    // The honest member: an org with a site, a token, and a few hundred jobs to list.
    await api(server, 'POST', '/api/v1/orgs', ADMIN, { id: 'honest', name: 'Honest' });
    await api(server, 'POST', '/api/v1/sites', ADMIN, { name: 'honest lab', org_id: 'honest', capacity: [{ gpu_type: 'h100', nodes: 4, gpus_per_node: 8 }] });
    const honest = (await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'honest', role: 'member', org_id: 'honest' })).token;
    for (let i = 0; i < 300; i++) await api(server, 'POST', '/api/v1/jobs', honest, { name: `j${i}`, gpus: 64, estimate_s: 3600 });
    // The hostile member: an org whose org-admin declared a large site, and that site's agent.
    await api(server, 'POST', '/api/v1/orgs', ADMIN, { id: 'hostile', name: 'Hostile' });
    const site = await api<{ id: string }>(server, 'POST', '/api/v1/sites', ADMIN, { name: 'hostile lab', org_id: 'hostile', capacity: [{ gpu_type: 'h100', nodes: 2048, gpus_per_node: 8 }] });
    const agent = (await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'agent', role: 'agent', org_id: 'hostile', site_id: site.id })).token;
    const small = await api<{ id: string }>(server, 'POST', '/api/v1/sites', ADMIN, { name: 'hostile box', org_id: 'hostile', capacity: [{ gpu_type: 'h100', nodes: 1, gpus_per_node: 8 }] });
    const smallAgent = (await api<{ token: string }>(server, 'POST', '/api/v1/tokens', ADMIN, { name: 'box agent', role: 'agent', org_id: 'hostile', site_id: small.id })).token;
    const heartbeat = join(dir, 'heartbeat.json');
    writeFileSync(heartbeat, JSON.stringify({ runs: Array.from({ length: 30_000 }, (_, i) => ({ job_id: String(1_000_000 + i), attempt: 1 })) }));
    const reportFile = join(dir, 'report.json');
    writeFileSync(reportFile, JSON.stringify({ job_id: '999999999', attempt: 1, state: 'succeeded', exit_code: 0, log_tail: 'x'.repeat(64 * 1024) }));
    const wrong = `sl_${'f'.repeat(16)}_${'0'.repeat(48)}`;

    const floods: Readonly<Record<string, Load | null>> = {
      'no flood': null,
      'heartbeats of 30,000 runs': { path: '/api/v1/agent/heartbeat', method: 'POST', token: agent, bodyFile: heartbeat, connections: 32 },
      'reports for other sites’ jobs (64 KiB logs), from the 16,384-GPU site': { path: '/api/v1/agent/reports', method: 'POST', token: agent, bodyFile: reportFile, connections: 32 },
      'the same reports from an 8-GPU site': { path: '/api/v1/agent/reports', method: 'POST', token: smallAgent, bodyFile: reportFile, connections: 32 },
      'sign-ins with wrong secrets': { path: '/api/v1/whoami', method: 'GET', token: wrong, connections: 32 },
    };
    const honestLoad: Load = { path: '/api/v1/jobs?limit=1', method: 'GET', token: honest, connections: 4, rate: 100 };
    await cannon(server, honestLoad, 2); // warm-up
    const results: BenchResult[] = [];
    const rows: string[] = [];
    for (const [name, flood] of Object.entries(floods)) {
      const p50: number[] = [];
      const p99: number[] = [];
      const rate: number[] = [];
      let seen = '';
      for (let round = 0; round < ROUNDS; round++) {
        const [h, f] = await Promise.all([cannon(server, honestLoad, SECONDS), flood === null ? Promise.resolve(null) : cannon(server, flood, SECONDS)]);
        p50.push(h.latency.p50);
        p99.push(h.latency.p99);
        if (f !== null) {
          rate.push(f.requests.average);
          seen = codes(f);
        }
      }
      const p99s = summarize(`${name}: honest p99`, 'ms', p99);
      results.push(summarize(`${name}: honest p50`, 'ms', p50), p99s, ...(rate.length > 0 ? [summarize(`${name}: flood requests/s`, 'req/s', rate)] : []));
      rows.push(`${name}: honest p99 ${p99s.median} ms (${p99s.min}–${p99s.max}) ${p99s.median <= HONEST_P99_MS ? 'within' : 'OVER'} the ${HONEST_P99_MS} ms target${seen === '' ? '' : `; flood answers, last round: ${seen}`}`);
    }
    for (const row of rows) console.log(row);
    report('hostile', results);
  } finally {
    await stop(server, 'SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
