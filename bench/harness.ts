// A small benchmark harness: each case runs in several timed rounds; we report the
// median round, so one noisy round on a shared 2-core machine does not move it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface BenchResult {
  readonly name: string;
  readonly unit: string;
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
}

/** Runs `fn` repeatedly for about `roundMs` per round, `rounds` times; returns operations per second. */
export function opsPerSecond(name: string, fn: () => unknown, rounds = 5, roundMs = 300): BenchResult {
  for (let i = 0; i < 50; i++) fn(); // warm-up: let the JIT settle
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < roundMs) {
      fn();
      n++;
      elapsed = performance.now() - start;
    }
    rates.push((n * 1000) / elapsed);
  }
  return summarize(name, 'ops/s', rates);
}

/** Times one whole operation per round (e.g. starting a process); returns milliseconds. */
export function milliseconds(name: string, fn: () => unknown, rounds = 5): BenchResult {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return summarize(name, 'ms', times);
}

/** Median, min and max of the rounds' figures. */
export function summarize(name: string, unit: string, xs: number[]): BenchResult {
  const sorted = [...xs].sort((a, b) => a - b);
  return { name, unit, median: sorted[Math.floor(sorted.length / 2)] ?? 0, min: sorted[0] ?? 0, max: sorted[sorted.length - 1] ?? 0, rounds: xs.length };
}

export function machine(): Record<string, string | number> {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // not a git checkout: leave unknown
  }
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version, commit };
}

/** Prints a table and writes bench/results/<suite>.json. */
export function report(suite: string, results: readonly BenchResult[]): void {
  const rows = results.map((r) => [r.name, `${r.median.toPrecision(4)} ${r.unit}`, `${r.min.toPrecision(4)}–${r.max.toPrecision(4)}`, String(r.rounds)]);
  const head = ['case', 'median', 'range', 'rounds'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]?.length ?? 0)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n${suite}\n${line(head)}\n${widths.map((w) => '─'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);
  const dir = join(import.meta.dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${suite}.json`);
  writeFileSync(file, JSON.stringify({ suite, measured_at: new Date().toISOString(), machine: machine(), results }, null, 2));
  console.log(`written to ${file}`);
}
