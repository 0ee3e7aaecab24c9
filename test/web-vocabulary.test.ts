// The dashboard names in words what the server sends as codes. tsc holds it to the
// enums in the wire types (states, health, error codes); the scheduler's reasons for
// keeping a job waiting travel as plain strings, so they are checked here.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { REASONS } from '../src/sched/diagnosis.ts';
import { REASON_LABEL } from '../web/src/i18n/labels.ts';

test('every reason the scheduler gives has words in the dashboard, and no other', () => {
  assert.deepEqual(Object.keys(REASON_LABEL).sort(), Object.keys(REASONS).sort());
});
