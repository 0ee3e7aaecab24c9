import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { newLines, spanFrom } from './job.ts';

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

test('--span: keys with units, defaults left to the server, bad keys and missing ones named', () => {
  assert.deepEqual(spanFrom('replica=8,params=30B,outer=40m'), { replica_gpus: 8, params: 30e9, outer_step_s: 2400 });
  assert.deepEqual(spanFrom('replica=512, params=1e9, outer=100, bytes=0.5, hidden=30s, min=0.9, wait=2h'), {
    replica_gpus: 512, params: 1e9, outer_step_s: 100, bytes_per_param: 0.5, hidden_s: 30, min_efficiency: 0.9, max_single_site_wait_s: 7200,
  });
  assert.throws(() => spanFrom('replica=8,params=1e9'), /outer is required/);
  assert.throws(() => spanFrom('replica=8,params=1e9,outer=10,speed=3'), /unknown key "speed"/);
  assert.throws(() => spanFrom('replica=8,params=1e9,outer='), /outer has no value/);
  assert.throws(() => spanFrom('replica=8,params=1e9,outer=10,min=2'), /span min/);
});
