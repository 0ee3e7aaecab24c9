import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SiteKey } from '../store/types.ts';
import { SiteKeyBook } from './log-keys.ts';

test("a site's keys are read once and kept; taking or revoking one (through the book) reads them again", async () => {
  const stored: { -readonly [K in keyof SiteKey]: SiteKey[K] }[] = [];
  let reads = 0;
  const book = new SiteKeyBook({
    siteKeys: (siteId) => {
      reads++;
      return Promise.resolve(stored.filter((k) => k.siteId === siteId).map((k) => ({ ...k })));
    },
    addSiteKey: (key) => {
      stored.push({ ...key, revokedAt: null });
      return Promise.resolve();
    },
    revokeSiteKey: (siteId, keyHash, at) => {
      const key = stored.find((k) => k.siteId === siteId && k.keyHash === keyHash && k.revokedAt === null);
      if (key !== undefined) key.revokedAt = at;
      return Promise.resolve(key !== undefined);
    },
  });
  assert.deepEqual(await book.of('s1'), []);
  assert.deepEqual(await book.of('s1'), []);
  assert.equal(reads, 1, 'every heartbeat after the first reads nothing');
  await book.add({ siteId: 's1', keyHash: 'k1', verifierKey: 'v1', createdAt: 1 });
  assert.deepEqual((await book.of('s1')).map((k) => [k.keyHash, k.revokedAt]), [['k1', null]], 'the key taken is seen at once');
  assert.equal(await book.revoke('s1', 'k1', 5), true);
  assert.deepEqual((await book.of('s1')).map((k) => [k.keyHash, k.revokedAt]), [['k1', 5]], 'and its revocation');
  assert.equal(await book.revoke('s1', 'nope', 6), false);
  assert.equal(reads, 3);
});
