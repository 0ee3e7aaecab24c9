/**
 * Untrusted text made visible. Names, diagnoses and log tails come from other
 * members of the pool (and from their agents): printed raw, an escape sequence
 * writes into the reader's terminal, a carriage return overwrites a line, and a
 * bidi override or an invisible character disguises what the text says. These
 * functions turn every such character into the visible escape `\u{1b}` (lower-case
 * hex, no padding), the one form every output of Suanli uses; all other text —
 * letters of any script, CJK, emoji — passes unchanged.
 *
 * The hidden characters: every C0 control (`\n` and `\t` only in a one-line field),
 * DEL, every C1 control, the invisible and bidi format characters U+061C,
 * U+200B–U+200F, U+2028–U+202E (the line and paragraph separators and the bidi
 * embeddings and overrides), U+2060–U+2069, U+FEFF, and lone surrogates. A zero
 * width joiner between two emoji (👩‍💻) is part of the emoji and stays.
 */

/** The hidden characters of multi-line text (which keeps `\n` and `\t`). */
const HIDDEN = /[\0-\x08\x0B-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF\uD800-\uDFFF]/gu;
/** The hidden characters of one line: the same and `\t`, `\n`. */
const HIDDEN_IN_LINE = /[\0-\x1F\x7F-\x9F\u061C\u200B-\u200F\u2028-\u202E\u2060-\u2069\uFEFF\uD800-\uDFFF]/gu;

const ONE_HIDDEN_IN_LINE = new RegExp(`^${HIDDEN_IN_LINE.source}$`, 'u');

const ZWJ = '\u200D';
const EMOJI_BEFORE = /\p{Extended_Pictographic}[\uFE0F\u{1F3FB}-\u{1F3FF}]?$/u;
const EMOJI_AFTER = /^\p{Extended_Pictographic}/u;

/** Whether the zero width joiner at `at` joins two emoji (👩‍💻), where it belongs. */
function joinsEmoji(text: string, at: number): boolean {
  // An emoji is at most two UTF-16 units, its modifier as many.
  return EMOJI_BEFORE.test(text.slice(Math.max(0, at - 4), at)) && EMOJI_AFTER.test(text.slice(at + 1, at + 3));
}

/** The code unit or code point `c` as the visible escape `\u{1b}`. */
const escape = (c: string): string => `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`;

function replaceHidden(text: string, hidden: RegExp): string {
  return text.replace(hidden, (c: string, at: number) => (c === ZWJ && joinsEmoji(text, at) ? c : escape(c)));
}

/** Multi-line text (a log, a message) with its hidden characters escaped; `\n` and `\t` stay. */
export function visibleText(text: string): string {
  return replaceHidden(text, HIDDEN);
}

/** One line (a table cell, a name in a title) with its hidden characters escaped, `\n` and `\t` too. */
export function visibleLine(text: string): string {
  return replaceHidden(text, HIDDEN_IN_LINE);
}

/** `U+202E`: a code point as the Unicode standard writes it. */
export const codePointName = (codePoint: number): string => `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;

/**
 * The first character a one-line field must not hold, with its position (1 for the
 * first character, counted in characters, not UTF-16 units); undefined when none.
 */
export function firstHidden(text: string): { readonly codePoint: number; readonly position: number } | undefined {
  let position = 0;
  let at = 0;
  for (const c of text) {
    position++;
    if (ONE_HIDDEN_IN_LINE.test(c) && !(c === ZWJ && joinsEmoji(text, at))) return { codePoint: c.codePointAt(0) ?? 0, position };
    at += c.length;
  }
  return undefined;
}

/**
 * `value` as JSON that is safe to print: exact data (a JSON parser gives back the
 * original strings) in which every hidden character is a `\uXXXX` escape.
 * JSON.stringify escapes C0 controls and lone surrogates itself; this escapes the
 * rest. Outside strings JSON text holds only ASCII, so every hidden character left
 * is inside a string, where `\uXXXX` stands for it.
 */
export function visibleJson(value: unknown, space?: number): string {
  return (JSON.stringify(value, null, space) ?? 'null').replace(HIDDEN, (c) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}
