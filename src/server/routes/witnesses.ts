import type { z } from 'zod';
import { COSIGNATURE_TYPE, cosignatureTime, cosignatureVerifier } from '../../ledger/cosignature.ts';
import { utf8 } from '../../ledger/encoding.ts';
import { decodeVerifierKey, keyId, openNote, parseNote } from '../../ledger/note.ts';
import { isSuanliError } from '../../model/errors.ts';
import type { Store, WitnessKey } from '../../store/types.ts';
import { accessOf, secured, type Api } from '../control-plane.ts';
import { ApiError } from '../errors.ts';
import { CosignatureBody, CosignatureResponse, ErrorResponse, WitnessBody, WitnessKeyParams, WitnessListResponse, WitnessResponse, type WitnessSummary } from '../schemas.ts';

/**
 * Witnesses (c2sp.org/tlog-cosignature): members that cosign the usage log's
 * checkpoints after checking each is consistent with the last they cosigned
 * (`suanli ledger witness`), so that a control plane showing members different
 * histories (a split view) is caught.
 *
 * - A member of any role but agent registers its org's witness key; its org revokes it.
 *   A key (name and hash, as its signature lines name it) belongs to one org, once.
 * - A cosignature is a signature line on a stored checkpoint. It is kept only when it
 *   verifies with a registered, unrevoked key: it speaks for itself, whoever posts it.
 * - The checkpoint's answer counts member orgs, not keys, that cosigned it: an org
 *   with ten keys is one witness. A member that wants to be sure counts for itself,
 *   with the witnesses it chooses (`openCheckpoint` with their keys).
 */
export function witnessRoutes(app: Api): void {
  const { store, clock } = app.suanli;
  const tags = ['ledger'];
  const owner = (k: WitnessKey) => ({ orgId: k.orgId });

  app.post('/api/v1/ledger/witnesses', {
    config: { operation: 'ledger.witness.register' },
    schema: {
      tags, ...secured,
      summary: "Register a witness's cosigner key for the caller's org (an admin names the org): cosignatures by it are then kept and counted. Registering a key again is a 200",
      body: WitnessBody, response: { 200: WitnessResponse, 201: WitnessResponse, '4xx': ErrorResponse },
    },
  }, async (req, reply) => {
    const orgId = accessOf(req).targetOrg(req.body.org_id);
    if ((await store.getOrg(orgId)) === null) throw new ApiError('not_found', `org_id: org "${orgId}" not found`, { field: 'org_id' });
    const { name, keyHash } = cosignerKey(req.body.verifier_key);
    const id = keyId(name, keyHash);
    const hash = id.slice(name.length + 1);
    const existing = (await store.witnessKeys()).find((k) => k.name === name && k.keyHash === hash);
    if (existing !== undefined) {
      const field = { field: 'verifier_key' };
      if (existing.orgId !== orgId) throw new ApiError('conflict', `verifier_key: the witness key ${id} is registered by another org`, field);
      if (existing.revokedAt !== null) throw new ApiError('conflict', `verifier_key: the witness key ${id} was revoked at ${iso(existing.revokedAt)}; make a new key`, field);
      return witnessJson(existing);
    }
    const key = { name, keyHash: hash, orgId, verifierKey: req.body.verifier_key, createdAt: clock.now() };
    await store.addWitnessKey(key);
    return reply.code(201).send(witnessJson({ ...key, revokedAt: null }));
  });

  app.get('/api/v1/ledger/witnesses', {
    config: { operation: 'ledger.log' },
    schema: { tags, ...secured, summary: "Every member org's witness keys, revoked ones too: what a member chooses the witnesses it trusts from", response: { 200: WitnessListResponse, '4xx': ErrorResponse } },
  }, async () => ({ witnesses: (await store.witnessKeys()).map(witnessJson) }));

  app.delete('/api/v1/ledger/witnesses/:key', {
    config: { operation: 'ledger.witness.revoke' },
    schema: {
      tags, ...secured, summary: "Revoke a witness key of the caller's org: its cosignatures are no longer accepted nor counted; those it made still verify",
      params: WitnessKeyParams, response: { 200: WitnessResponse, '4xx': ErrorResponse },
    },
  }, async (req) => {
    const { key } = req.params;
    const found = (await store.witnessKeys()).find((k) => `${k.name}+${k.keyHash}` === key) ?? null;
    const k = accessOf(req).require('witness key', key, found, owner);
    await store.revokeWitnessKey(k.name, k.keyHash, clock.now());
    const after = (await store.witnessKeys(k.orgId)).find((w) => w.name === k.name && w.keyHash === k.keyHash) ?? k;
    return witnessJson(after);
  });

  app.post('/api/v1/ledger/cosignatures', {
    config: { operation: 'ledger.cosign' },
    schema: {
      tags, ...secured,
      summary: "A witness's cosignature of the checkpoint of a size: kept when it verifies with a registered witness key (a witness's later one replaces its earlier)",
      body: CosignatureBody, response: { 201: CosignatureResponse, '4xx': ErrorResponse },
    },
  }, async (req, reply) => {
    const { size } = req.body;
    const checkpoint = await store.checkpoint(size);
    if (checkpoint === null) throw new ApiError('not_found', `size: the usage log has no checkpoint of size ${size}`, { field: 'size' });
    const bad = (why: string) => new ApiError('invalid_request', `cosignature: ${why}`, { field: 'cosignature' });
    const line = req.body.cosignature.replace(/\n$/, '');
    if (line.includes('\n')) throw bad('one signature line, not several');
    // The stored note is the checkpoint's text signed by the log; the cosignature is one more line on it.
    const stored = parseNote(utf8(checkpoint.note));
    if (!stored.ok) throw new ApiError('internal', `the stored checkpoint of size ${size} is not a note (line ${stored.line}: ${stored.detail})`);
    const note = utf8(`${stored.text}\n${line}\n`);
    const parsed = parseNote(note);
    const signature = parsed.ok ? parsed.signatures[0] : undefined;
    if (!parsed.ok || signature === undefined) throw bad(parsed.ok ? 'no signature line' : `not a signature line (${parsed.detail})`);
    const id = keyId(signature.name, signature.keyHash);
    const key = (await store.witnessKeys()).find((k) => `${k.name}+${k.keyHash}` === id);
    if (key === undefined) throw bad(`signed by ${id}, which is not a registered witness key`);
    if (key.revokedAt !== null) throw bad(`signed by ${id}, a witness key revoked at ${iso(key.revokedAt)}`);
    const opened = openNote(note, [cosignatureVerifier(key.verifierKey)]);
    const atS = cosignatureTime(signature);
    if (!opened.ok || atS === undefined) throw bad(`does not verify with ${id} as a cosignature/v1 of the checkpoint of size ${size}`);
    if (!(await store.addCosignature(size, id, `${line}\n`, clock.now()))) throw new ApiError('not_found', `size: the usage log has no checkpoint of size ${size}`, { field: 'size' });
    const summary = await witnessSummary(store, await store.cosignatures(size));
    return reply.code(201).send({ size, witness: id, org_id: key.orgId, cosigned_at: iso(atS * 1000), witnesses: summary });
  });
}

/**
 * How many member orgs witnessed a checkpoint: those with an unrevoked witness key
 * among its stored cosignatures (each verified when it was posted), of those with one.
 */
export async function witnessSummary(store: Store, cosignatures: readonly { readonly witness: string }[]): Promise<z.output<typeof WitnessSummary>> {
  const active = (await store.witnessKeys()).filter((k) => k.revokedAt === null);
  const orgOf = new Map(active.map((k) => [`${k.name}+${k.keyHash}`, k.orgId]));
  const cosignedBy = [...new Set(cosignatures.flatMap((c) => orgOf.get(c.witness) ?? []))].sort();
  return { cosigned: cosignedBy.length, registered: new Set(active.map((k) => k.orgId)).size, cosigned_by: cosignedBy };
}

const iso = (ms: number) => new Date(ms).toISOString();

const witnessJson = (k: WitnessKey): z.output<typeof WitnessResponse> => ({
  key: `${k.name}+${k.keyHash}`, name: k.name, org_id: k.orgId, verifier_key: k.verifierKey, created_at: iso(k.createdAt), revoked_at: k.revokedAt === null ? null : iso(k.revokedAt),
});

/** The name and key hash of a cosigner verifier key (type 0x04); a 400 naming `verifier_key` otherwise. */
function cosignerKey(verifierKey: string): { name: string; keyHash: number } {
  try {
    const { type } = decodeVerifierKey(verifierKey);
    if (type !== COSIGNATURE_TYPE) throw new ApiError('invalid_request', `verifier_key: key type ${type} is not a cosigner key (${COSIGNATURE_TYPE}): \`suanli ledger witness\` makes one`, { field: 'verifier_key' });
    return cosignatureVerifier(verifierKey);
  } catch (err) {
    if (isSuanliError(err)) throw new ApiError('invalid_request', `verifier_key: ${err.message.replace(/^[^:]+: /, '')}`, { field: 'verifier_key', cause: err });
    throw err;
  }
}
