// `suanli serve` as a real process, for tests: started on a free port, its URL read from
// what it prints, stopped by a signal.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { BIN } from './cli.ts';

export interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly url: string;
  /** Everything printed on stdout so far. */
  out(): string;
  /** Sends the signal; resolves with the exit code and all stdout. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; out: string }>;
}

/** Starts `suanli serve` on `dataDir` (`bin`: the command's entry point, the checkout's by default; `args`: more options). */
export async function serve(dataDir: string, env: Record<string, string> = {}, bin = BIN, args: readonly string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0', '--data-dir', dataDir, '--log-level', 'warn', ...args], { env: { ...process.env, DATABASE_URL: '', SUANLI_ADMIN_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', r));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1] !== undefined) {
        clearInterval(timer);
        resolve(m[1]);
      }
    }, 20);
    void exited.then((code) => {
      clearInterval(timer);
      reject(new Error(`serve exited ${code ?? 'by a signal'} before listening: ${out}${err}`));
    });
  });
  return {
    child, url, out: () => out,
    stop: async (signal) => {
      child.kill(signal);
      return { code: await exited, out };
    },
  };
}

