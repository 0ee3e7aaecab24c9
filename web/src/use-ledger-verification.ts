import { useCallback, useEffect, useState } from 'react';
import type { EvidenceProgress, LedgerGet } from '../../src/ledger/audit-evidence.ts';
import { ApiRequestError, isAbort, type ApiClient } from './api/client.ts';
import type { CheckpointJson } from './api/types.ts';
import { keptMemoryText, ledgerMemoryKey, pinOf, readLedgerMemory, verificationPanel, type VerificationPanel } from './model/ledger-verification.ts';

/** Where a verification is: each phase with what is known so far. */
export type Verification =
  | { readonly phase: 'checkpoint' }
  /** The usage log has no checkpoint yet (nothing logged). */
  | { readonly phase: 'none' }
  | { readonly phase: 'records'; readonly checkpoint: CheckpointJson; readonly progress: EvidenceProgress | null }
  | { readonly phase: 'checking'; readonly checkpoint: CheckpointJson; readonly records: number }
  /** `panel` null: no org to verify (the admin has not chosen one). `unsaved`: what was verified could not be kept. */
  | { readonly phase: 'done'; readonly checkpoint: CheckpointJson; readonly panel: VerificationPanel | null; readonly unsaved: boolean }
  | { readonly phase: 'failed'; readonly checkpoint: CheckpointJson | null; readonly error: unknown };

/** `/ledger/entries?org=acme&from=0` from a path and a query. */
function withQuery(path: string, query: Readonly<Record<string, string | number>>): string {
  const search = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
  return search === '' ? path : `${path}?${search}`;
}

/**
 * The ledger of `org` verified in this browser, as `suanli ledger verify` does it: the
 * latest checkpoint, then (with an org) what the audit needs (src/ledger/audit-evidence.ts,
 * the CLI's own sequence of requests), the audit with the library's Ed25519
 * (src/ledger/audit.ts, loaded in its own chunk at the first verification), and the
 * tree kept in localStorage for the next one. Runs once per org, and again on `again`;
 * leaving the page aborts it.
 */
export function useLedgerVerification(client: ApiClient, org: string | null): { readonly verification: Verification; readonly again: () => void } {
  const [verification, setVerification] = useState<Verification>({ phase: 'checkpoint' });
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    const show = (v: Verification) => {
      if (!signal.aborted) setVerification(v);
    };
    const run = async () => {
      show({ phase: 'checkpoint' });
      let checkpoint: CheckpointJson | null = null;
      try {
        // 1. The latest checkpoint; without an org, that is all.
        checkpoint = await client.get<CheckpointJson>('/ledger/checkpoint', signal);
        const cp = checkpoint;
        if (org === null) return show({ phase: 'done', checkpoint: cp, panel: null, unsaved: false });
        show({ phase: 'records', checkpoint: cp, progress: null });
        const [{ auditInput, fetchAuditEvidence, treeToKeep }, { auditLedger }] = await Promise.all([import('../../src/ledger/audit-evidence.ts'), import('../../src/ledger/audit.ts')]);

        // 2. The pinned key (or the one shown, at the first verification of this server) and the last tree verified.
        const key = ledgerMemoryKey(window.location.origin);
        const memory = readLedgerMemory(localStorage.getItem(key));
        const nowIso = new Date().toISOString();
        const { pin, firstUse } = pinOf(memory, cp, nowIso);
        const last = memory?.orgs[org];

        // 3. What the audit checks, read a page at a time.
        const get: LedgerGet = (path, query) => client.get<unknown>(withQuery(path, query), signal);
        const evidence = await fetchAuditEvidence(get, { org, size: cp.size, last, onProgress: (progress) => show({ phase: 'records', checkpoint: cp, progress }) });

        // 4. The audit: a moment first, so that the page says it is checking before the work holds the main thread.
        show({ phase: 'checking', checkpoint: cp, records: evidence.entries.length });
        await new Promise((resolve) => setTimeout(resolve, 0));
        if (signal.aborted) return;
        const audit = auditLedger(auditInput({ trust: { origin: pin.origin, logKey: pin.logKey }, org, last }, cp.note, evidence));

        // 5. Keep the checkpoint when it holds (signed by the pinned key and extending the last), as the CLI does.
        const tree = treeToKeep(audit);
        let unsaved = false;
        if (tree !== null && cp.log_key === pin.logKey) {
          try {
            // Read again: another tab may have kept a larger tree meanwhile.
            localStorage.setItem(key, keptMemoryText(readLedgerMemory(localStorage.getItem(key)) ?? memory, pin, org, { ...tree, checkpointAt: cp.at, verifiedAt: nowIso }));
          } catch {
            unsaved = true;
          }
        }
        show({ phase: 'done', checkpoint: cp, panel: verificationPanel(audit, { pin, firstUse, logKeyShown: cp.log_key, last }), unsaved });
      } catch (err) {
        if (signal.aborted || isAbort(err)) return;
        if (checkpoint === null && err instanceof ApiRequestError && err.code === 'not_found') return show({ phase: 'none' });
        show({ phase: 'failed', checkpoint, error: err });
      }
    };
    void run();
    return () => controller.abort();
  }, [client, org, generation]);

  const again = useCallback(() => setGeneration((g) => g + 1), []);
  return { verification, again };
}
