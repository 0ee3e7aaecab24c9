import { open } from 'node:fs/promises';
import { decodeTail } from './run-request.ts';

/**
 * The last `bytes` bytes of the file at `path`, decoded (see decodeTail); '' when
 * the file does not exist yet. Reads only the tail, however big the log.
 */
export async function readTail(path: string, bytes: number): Promise<string> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
  try {
    const { size } = await file.stat();
    const length = Math.min(bytes, size);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, size - length);
    return decodeTail(buffer.subarray(0, bytesRead));
  } finally {
    await file.close();
  }
}
