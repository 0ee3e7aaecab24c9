import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReadCache } from './read-cache.ts';

test('ReadCache: one read per key, shared; a failed read is not kept; forget drops one key or all', async () => {
  const cache = new ReadCache<number>();
  let reads = 0;
  const read = (value: number) => () => {
    reads++;
    return Promise.resolve(value);
  };
  assert.deepEqual(await Promise.all([cache.get('a', read(1)), cache.get('a', read(2))]), [1, 1], 'concurrent gets share the first read');
  assert.equal(await cache.get('b', read(3)), 3);
  assert.equal(reads, 2);
  await assert.rejects(cache.get('c', () => Promise.reject(new Error('down'))), /down/);
  assert.equal(await cache.get('c', read(4)), 4, 'the failed read was not kept');
  cache.forget('a');
  assert.equal(await cache.get('a', read(5)), 5, 'forgotten: read again');
  assert.equal(await cache.get('b', read(6)), 3, 'another key kept');
  cache.forget();
  assert.deepEqual([await cache.get('b', read(7)), await cache.get('c', read(8))], [7, 8], 'all forgotten');
});
