// A client of a control plane that may fail over (replicas, a database promoted): it
// calls whichever server answers, submits jobs with idempotency keys until they are
// acknowledged, and checks afterwards that every acknowledged job succeeded, is stored
// once, and that each run (job, attempt) ran once — each run appends its id to `ran`.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FailoverClient {
  /** Idempotency key → job id, for every submission acknowledged. */
  readonly acked = new Map<string, string>();
  private submitted = 0;

  /** `servers`: the URLs to try, in order, now; `ran`: a file each run appends its id to (emptied here). */
  constructor(private readonly servers: () => readonly string[], private readonly token: string, private readonly org: string, readonly ran: string) {
    writeFileSync(ran, '');
  }

  /** One API call through the servers, each in turn until one answers other than 5xx or not at all. */
  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
    for (let round = 0; round < 300; round++) {
      for (const url of this.servers()) {
        try {
          const res = await fetch(`${url}/api/v1${path}`, {
            method, headers: { authorization: `Bearer ${this.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }), signal: AbortSignal.timeout(5000),
          });
          if (res.status < 500) return { status: res.status, json: await res.json() };
        } catch {
          // not answering: the next one
        }
      }
      await sleep(200);
    }
    throw new Error(`${method} ${path}: no server answered`);
  }

  /** Submits one job with an idempotency key, through whichever server answers; resolves when it is acknowledged. */
  async submit(): Promise<void> {
    const key = `job-${++this.submitted}`;
    const { status, json } = await this.call('POST', '/jobs', { name: key, org_id: this.org, gpus: 1, estimate_s: 60, command: ['sh', '-c', `echo "$SUANLI_RUN_ID" >> ${this.ran}; sleep 0.2`] }, { 'idempotency-key': key });
    assert.ok(status === 201 || status === 200, `${key}: ${status} ${JSON.stringify(json)}`);
    const id = (json as { id: string }).id;
    if (this.acked.has(key)) assert.equal(this.acked.get(key), id, 'a retried key names its first job');
    this.acked.set(key, id);
  }

  /** Submits `n` jobs, 4 at a time; `during` runs once `at` of them are acknowledged (and is waited for). */
  async burst(n: number, at: number, during: () => Promise<void>): Promise<void> {
    let started = 0;
    let done = 0;
    let fired: Promise<void> = Promise.resolve();
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (started < n) {
        started++;
        await this.submit();
        if (++done === at) fired = during();
      }
    }));
    await fired;
  }

  /** Every acknowledged job succeeded, the store holds each once (and no other of the org), and each ran once. */
  async allRanOnce(what: string, log: () => string = () => ''): Promise<void> {
    const ids = new Set(this.acked.values());
    assert.equal(ids.size, this.acked.size, `${what}: every key its own job`);
    const deadline = performance.now() + 120_000;
    for (;;) {
      const states = await Promise.all([...ids].map(async (id) => ((await this.call('GET', `/jobs/${id}`)).json as { state: string }).state));
      if (states.every((s) => s === 'succeeded')) break;
      if (performance.now() > deadline) assert.fail(`${what}: not all succeeded: ${JSON.stringify(states.filter((s) => s !== 'succeeded'))}\n${log().slice(-2000)}`);
      await sleep(500);
    }
    const listed = await this.call('GET', `/jobs?org=${this.org}&limit=500`);
    assert.equal((listed.json as { jobs: unknown[] }).jobs.length, ids.size, `${what}: the store holds each acknowledged job once, and no other`);
    const runs = readFileSync(this.ran, 'utf8').trim().split('\n');
    assert.equal(new Set(runs).size, runs.length, `${what}: no run (job, attempt) ran twice: ${runs.length} runs`);
    assert.equal(runs.length, ids.size, `${what}: each job ran once`);
  }
}
