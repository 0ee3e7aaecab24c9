import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { test } from 'node:test';
import { AgentHttpError, ControlPlaneClient } from './control-plane-client.ts';

/** A server answering every request with `status` and `{ "from": name }`. */
async function answering(name: string, status: number): Promise<{ url: string; server: Server; hits: () => number }> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ from: name }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, hits: () => hits };
}

test('with several servers (replicas), one that does not answer or answers 503 is passed over, and the next requests go where one did; a 4xx is not', async () => {
  const down = await answering('down', 200);
  const downUrl = down.url;
  down.server.close();
  const between = await answering('between leaders', 503);
  const leader = await answering('leader', 200);
  const refusing = await answering('refusing', 404);
  try {
    const client = new ControlPlaneClient({ server: `${downUrl},${between.url},${leader.url}`, token: 't' });
    assert.deepEqual(await client.call('GET', '/x'), { from: 'leader' });
    assert.equal(client.server, leader.url);
    assert.deepEqual(await client.call('GET', '/x'), { from: 'leader' });
    assert.equal(between.hits(), 1, 'the next request goes to the one that answered');
    const refused = new ControlPlaneClient({ server: `${refusing.url},${leader.url}`, token: 't' });
    await assert.rejects(refused.call('GET', '/x'), (err: unknown) => err instanceof AgentHttpError && err.status === 404);
    assert.equal(leader.hits(), 2, 'a refusal is an answer');
    assert.throws(() => new ControlPlaneClient({ server: `${leader.url},ftp://x`, token: 't' }), /--server ftp:\/\/x: not an http\(s\) URL/);
  } finally {
    for (const s of [between, leader, refusing]) s.server.close();
  }
});
