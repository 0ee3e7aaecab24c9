import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError } from '../model/errors.ts';

export const LOCK_FILE = 'suanli.lock';

/**
 * Makes `dir` this process's alone. PGlite lets two processes open one directory
 * and corrupt it, so the first takes `<dir>/suanli.lock`, created exclusively and
 * holding its pid; a second finds it and stops with an error naming both. A lock
 * whose process is gone (it crashed, or exited without closing) is stale and is
 * taken over. Returns the release, which removes the lock only while it is ours.
 *
 * Known gap: two processes that find the same stale lock at the same instant may
 * both take it over; a plain lock file cannot close that window.
 */
export function lockDataDir(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let tries = 0; tries < 3; tries++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return () => {
        if (holder(path) === process.pid) rmSync(path, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const pid = holder(path);
    if (pid === undefined) continue; // removed meanwhile: try again
    if (pid === null) {
      throw new InvalidInputError('data-dir', `${dir} is locked by ${path}, which names no process`, `a data directory no Suanli process has open (if none has, delete ${path})`);
    }
    if (isRunning(pid)) {
      const who = pid === process.pid ? `this process (${pid})` : `process ${pid}`;
      throw new InvalidInputError('data-dir', `${dir} is already open in ${who}, which holds ${path}`, `a data directory no running Suanli process has open (stop process ${pid}, or use another directory)`);
    }
    rmSync(path, { force: true }); // stale: its process is gone
  }
  throw new Error(`could not take ${path}: other processes keep taking and dropping it`);
}

/** The pid a lock file holds; null if it holds none (just created, or written by a crash); undefined if there is no file. */
function holder(path: string): number | null | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : null;
}

/**
 * Whether `pid` is a live process. A zombie counts as gone: here PID 1 reaps exited
 * processes late, and kill(pid, 0) still succeeds on a zombie, so Linux asks /proc.
 */
export function isRunning(pid: number): boolean {
  if (existsSync('/proc/self/status')) {
    try {
      return !/^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
