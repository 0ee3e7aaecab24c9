import { InvalidInputError } from '../../model/errors.ts';

/**
 * JSON.parse, but a syntax error names the file, line and column. V8's own
 * messages give a position for some errors and none for others ("Unexpected
 * token '}', … is not valid JSON"), so on failure a small scanner walks the
 * JSON grammar (RFC 8259) to find the first offending character.
 */
export function parseJsonText(text: string, file: string, field: string, accepted: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const found = findSyntaxError(text);
    const where = found ? `line ${lineAt(text, found.at)}, column ${columnAt(text, found.at)}: ${found.problem}` : (err as Error).message;
    const error = new InvalidInputError(field, `${file}: not valid JSON: ${where}`, accepted);
    error.cause = err;
    throw error;
  }
}

interface SyntaxProblem {
  readonly at: number;
  readonly problem: string;
}

class Stop extends Error {
  constructor(readonly found: SyntaxProblem) {
    super(found.problem);
  }
}

/** The first syntax error in `text`, or undefined if it is valid JSON. */
export function findSyntaxError(text: string): SyntaxProblem | undefined {
  let i = 0;
  const fail = (problem: string, at = i): never => {
    throw new Stop({ at, problem });
  };
  const describe = (): string => (i >= text.length ? 'the end of the text' : `${JSON.stringify(text[i])}`);
  const ws = (): void => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const expect = (c: string, context: string): void => {
    if (text[i] !== c) fail(`expected '${c}' ${context}, found ${describe()}`);
    i++;
  };
  const string = (): void => {
    const open = i;
    i++;
    for (;;) {
      if (i >= text.length) fail('a string is never closed', open);
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('a control character (such as a line break) inside a string; write it as an escape like \\n');
      if (c === 0x5c) {
        const e = text[i + 1] ?? '';
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail('\\u must be followed by four hex digits');
          i += 6;
        } else if ('"\\/bfnrt'.includes(e) && e !== '') i += 2;
        else fail(`invalid escape \\${e}`);
      } else i++;
    }
    i++;
  };
  const digits = (what: string): void => {
    if (!/[0-9]/.test(text[i] ?? '')) fail(`expected a digit ${what}, found ${describe()}`);
    while (/[0-9]/.test(text[i] ?? '')) i++;
  };
  const number = (): void => {
    if (text[i] === '-') i++;
    if (text[i] === '0') {
      i++;
      if (/[0-9]/.test(text[i] ?? '')) fail('numbers may not have leading zeros');
    } else digits('in a number');
    if (text[i] === '.') {
      i++;
      digits('after the decimal point');
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      if (text[i] === '+' || text[i] === '-') i++;
      digits('in the exponent');
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail(`expected a property name in double quotes, found ${describe()}`);
        string();
        ws();
        expect(':', 'after a property name');
        value();
        ws();
        if (text[i] === '}') {
          i++;
          return;
        }
        expect(',', "or '}' after a property value");
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ']') {
          i++;
          return;
        }
        expect(',', "or ']' after an array element");
      }
    } else if (c === '"') string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else {
      for (const word of ['true', 'false', 'null']) {
        if (text.startsWith(word, i)) {
          i += word.length;
          return;
        }
      }
      fail(`expected a value, found ${describe()}`);
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail(`unexpected ${describe()} after the JSON value`);
    return undefined;
  } catch (err) {
    if (err instanceof Stop) return err.found;
    // Nesting deeper than the stack: give up on a position; the caller falls back to V8's message.
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

function lineAt(text: string, at: number): number {
  let line = 1;
  for (let i = 0; i < at && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

function columnAt(text: string, at: number): number {
  return at - text.lastIndexOf('\n', at - 1);
}
