import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Site, Store } from '../store/types.ts';
import { SiteDirectory } from './site-directory.ts';

/** A site as listSites gives it; only what the directory reads matters. */
const site = (id: string, gpus: number, sandboxBorrowed: boolean): Site => ({
  id, orgId: 'acme', name: id, capacity: [{ gpuType: 'h100', nodes: 1, gpusPerNode: gpus }], pricePerGpuHour: null,
  share: { lendFraction: 1, reclaim: false, reclaimNoticeS: 0, sandboxBorrowed },
  wanLinks: [], health: 'up', lastHeartbeatAt: null, createdAt: 1, reportedCapacity: null, sandboxCapable: null,
});

test('a refresh asked while a read is under way reads once more after it: a change the first read missed is seen', async () => {
  let stored = [site('lab-0000000a', 8, true)];
  const reads: { sites: Site[]; answer: () => void }[] = [];
  // Each read takes the sites as they are when it starts, and answers when the test says.
  const store = {
    listSites: () => {
      const sites = stored;
      return new Promise<Site[]>((resolve) => reads.push({ sites, answer: () => resolve(sites) }));
    },
  } as unknown as Store;
  const directory = new SiteDirectory(store);
  const first = directory.refresh();
  stored = [site('lab-0000000a', 16, false)]; // changed while the first read is out
  const second = directory.refresh();
  const third = directory.refresh();
  assert.equal(reads.length, 1, 'one read at a time');
  reads[0]?.answer();
  await first;
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(reads.length, 2, 'then one more, for both that asked meanwhile');
  reads[1]?.answer();
  await Promise.all([second, third]);
  assert.deepEqual([directory.known('lab-0000000a')?.gpus, directory.known('lab-0000000a')?.share.sandboxBorrowed], [16, false]);
  assert.equal(reads.length, 2);
});
