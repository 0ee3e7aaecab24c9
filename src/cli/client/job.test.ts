import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { newLines } from './job.ts';

test('newLines: what a log tail adds to the one printed before', () => {
  assert.equal(newLines('', 'a\nb\n'), 'a\nb\n');
  assert.equal(newLines('a\nb\n', 'a\nb\n'), '', 'nothing new');
  assert.equal(newLines('a\nb\n', 'b\nc\n'), 'c\n', 'the window slid: the overlap is not printed again');
  assert.equal(newLines('a\nb\n', 'x\ny\n'), 'x\ny\n', 'no overlap: all of it');
});

test('newLines: printing each new part of a growing log rebuilds the log, whatever the window', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z]{0,3}\n$/), { maxLength: 30 }), fc.integer({ min: 1, max: 12 }), (lines, window) => {
      // Only lines that are unique keep the overlap unambiguous, as timestamps or step numbers do in real logs.
      const log = lines.map((l, i) => `${i}:${l}`);
      let printed = '';
      let shown = '';
      for (let end = 1; end <= log.length; end++) {
        const tail = log.slice(Math.max(0, end - window), end).join('');
        shown += newLines(printed, tail);
        printed = tail;
      }
      assert.equal(shown, log.join(''));
    }),
  );
});
