import { firstLine } from './csv.ts';
import { READERS } from './formats.ts';
import { stripBom } from './reader.ts';
import { TRACE_FORMATS, type TraceFormat } from './trace.ts';

/**
 * Words in a file's path that settle a tie between formats sharing a header:
 * the Helios Venus and Alibaba PAI samples have the same four columns.
 */
const PATH_HINTS: Partial<Record<TraceFormat, RegExp>> = {
  helios: /helios|venus/i,
  pai: /pai|alibaba/i,
};

/**
 * The format whose header (or, for JSON, first character) `text` starts with, or
 * undefined when none fits or several do and the file path does not tell them apart.
 */
export function detectFormat(text: string, file: string): TraceFormat | undefined {
  const head = firstLine(stripBom(text));
  if (head === undefined) return undefined;
  const fits = TRACE_FORMATS.filter((f) => READERS[f].recognizes(head));
  if (fits.length <= 1) return fits[0];
  const hinted = fits.filter((f) => PATH_HINTS[f]?.test(file) === true);
  return hinted.length === 1 ? hinted[0] : undefined;
}
