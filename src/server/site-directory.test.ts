import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openStore } from '../store/index.ts';
import type { Site, Store } from '../store/types.ts';
import { SiteDirectory } from './site-directory.ts';

/** A site as listSites gives it; only what the directory reads matters. */
const site = (id: string, gpus: number, sandboxBorrowed: boolean): Site => ({
  id, orgId: 'acme', name: id, capacity: [{ gpuType: 'h100', nodes: 1, gpusPerNode: gpus }], pricePerGpuHour: null,
  share: { lendFraction: 1, reclaim: false, reclaimNoticeS: 0, sandboxBorrowed },
  wanLinks: [], spanEndpoint: null, health: 'up', lastHeartbeatAt: null, createdAt: 1, reportedCapacity: null, sandboxCapable: null,
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

test('a heartbeat that changes nothing but the time writes nothing at once; the times of all sites go in one write; one that changes the report is written at once', async () => {
  const store = await openStore({ memory: true });
  try {
    await store.createOrg({ id: 'acme', name: 'Acme', createdAt: 0 });
    for (const id of ['a-0000000a', 'b-0000000b']) await store.createSite({ ...site(id, 8, false), createdAt: 0 });
    const writes: string[] = [];
    for (const name of ['heartbeat', 'touchSites', 'setSiteHealth'] as const) {
      const real = store[name].bind(store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
        writes.push(name);
        return real(...args);
      };
    }
    const directory = new SiteDirectory(store);
    const fresh = [await directory.site('a-0000000a'), await directory.site('b-0000000b')];
    const [a, b] = (await Promise.all(fresh.map((s) => directory.heartbeat(s as Site, 500, {})))).map((h) => h.site);
    assert.ok(a !== undefined && b !== undefined);
    assert.deepEqual([fresh[0]?.health, a.health, writes], ['unknown', 'up', ['setSiteHealth', 'setSiteHealth']], 'a first heartbeat brings its site up, in the store at once');
    writes.length = 0;
    const version = directory.version();
    const { site: after, changed } = await directory.heartbeat(a, 1000, {});
    assert.equal(changed, false);
    assert.equal((await directory.heartbeat(b, 1050, { capacity: b.reportedCapacity ?? [], sandboxCapable: b.sandboxCapable ?? false })).changed, true, 'b’s first report');
    const reportedB = (await directory.site('b-0000000b')) as Site;
    assert.equal((await directory.heartbeat(reportedB, 1060, { capacity: [...(reportedB.reportedCapacity ?? [])], sandboxCapable: false })).changed, false, 'the same report again');
    assert.equal(directory.version(), version + 1, 'the version moved for the new report only, not for times');
    writes.length = 0;
    await directory.heartbeat(b, 1100, {});
    assert.deepEqual(writes, [], 'nothing written yet');
    assert.equal(after.lastHeartbeatAt, 1000);
    assert.deepEqual((await directory.listSites()).map((s) => s.lastHeartbeatAt), [1000, 1100], 'the loop reads the newest times');
    assert.equal((await store.getSite('a-0000000a'))?.lastHeartbeatAt, null);
    assert.equal(directory.withLiveness((await store.getSite('a-0000000a')) as Site).lastHeartbeatAt, 1000, 'what the API shows');
    await directory.writeTimes();
    assert.deepEqual(writes, ['touchSites'], 'both sites in one write');
    assert.deepEqual([(await store.getSite('a-0000000a'))?.lastHeartbeatAt, (await store.getSite('b-0000000b'))?.lastHeartbeatAt], [1000, 1100]);
    const reported = [{ gpuType: 'h100', nodes: 1, gpusPerNode: 4 }];
    assert.equal((await directory.heartbeat(after, 2000, { capacity: reported })).changed, true);
    assert.deepEqual(writes, ['touchSites', 'heartbeat'], 'a new report is written at once');
    assert.deepEqual((await store.getSite('a-0000000a'))?.reportedCapacity, reported);
    assert.equal(await directory.setSiteHealth('a-0000000a', 'lost'), true);
    assert.equal((await directory.site('a-0000000a'))?.health, 'lost');
    const { site: back, changed: backChanged } = await directory.heartbeat((await directory.site('a-0000000a')) as Site, 3000, { capacity: reported });
    assert.equal(backChanged, true, 'the same report, but the site is back');
    assert.deepEqual([back.health, (await store.getSite('a-0000000a'))?.health], ['up', 'up'], 'a lost site is back at its next heartbeat, in the store too');
    await directory.refresh();
    assert.equal((await directory.site('a-0000000a'))?.lastHeartbeatAt, 3000, 'a read of the store never moves a time back');
  } finally {
    await store.close();
  }
});

test('a site just created is added without reading every site again, with its org’s next label; one that would not sort last has them all read again', async () => {
  let reads = 0;
  let stored = [site('a-0000000a', 8, false)];
  const store = { listSites: () => (reads++, Promise.resolve(stored)) } as unknown as Store;
  const directory = new SiteDirectory(store);
  await directory.refresh();
  const b = { ...site('b-0000000b', 8, false), createdAt: 2 };
  stored = [...stored, b];
  await directory.added(b);
  assert.deepEqual([reads, directory.known('b-0000000b')?.label, (await directory.listSites()).map((s) => s.id)], [1, 'acme:site-2', ['a-0000000a', 'b-0000000b']]);
  const early = { ...site('c-0000000c', 8, false), createdAt: 1 }; // created before b, committed after it
  stored = [stored[0] as Site, early, b];
  await directory.added(early);
  assert.deepEqual([reads, directory.known('c-0000000c')?.label, directory.known('b-0000000b')?.label], [2, 'acme:site-2', 'acme:site-3'], 'read again: the labels follow the store’s order');
});
