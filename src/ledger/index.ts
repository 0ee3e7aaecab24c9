// The verifiable ledger's pure part: usage records, their signatures, the Merkle log,
// proofs, checkpoints and cosignatures. No I/O, no clock, no randomness: keys and bytes
// in, bytes out. The same code runs in the server, the agent, the CLI and the browser.
// This is the public surface; helpers the files share among themselves are not in it.
export { HASH_SIZE, PROOF_FAILURES, leafHash, nodeHash, emptyRoot, merkleTreeHash } from './merkle.ts';
export { completedSubtreesNeeds, completedSubtreesFrom, treeRootNeeds, treeRootFrom, inclusionProofNeeds, inclusionProofFrom, inclusionProofsFrom, consistencyProofNeeds, consistencyProofFrom } from './merkle.ts';
export { verifyInclusion, verifyConsistency } from './merkle.ts';
export type { NodeId, StoredNode, ProofFailure, ProofVerdict } from './merkle.ts';

export { ED25519_NOTE_TYPE, MAX_NOTE_SIGNATURES, NOTE_FAILURES, isValidKeyName, keyHash, keyId, generateSignerKey, ed25519VerifierKey, noteSigner, noteVerifier, signNote, openNote, parseNote } from './note.ts';
export type { NoteVerifier, NoteSigner, NoteSignature, NoteKeyPair, NoteFailure, NoteOpening, ParsedNote } from './note.ts';

export { CHECKPOINT_FAILURES, formatCheckpoint, parseCheckpoint, openCheckpoint, cosignCheckpoint } from './checkpoint.ts';
export type { Checkpoint, Cosignature, CheckpointTrust, CheckpointFailure, CheckpointOpening } from './checkpoint.ts';

export { COSIGNATURE_TYPE, MAX_COSIGNATURE_TIME_S, cosignerKeyHash, cosignatureMessage, generateCosignerKey, cosignatureSigner, cosignatureVerifier, cosignatureTime } from './cosignature.ts';
export { WITNESS_FAILURES, treeName, witnessProofNeeds, witnessVerdict } from './witness.ts';
export type { CosignedTree, WitnessFailure, WitnessVerdict } from './witness.ts';

export { USAGE_RECORD_FORMAT, USAGE_OUTCOMES, RECORD_WRITERS, RECORD_FAILURES, gpuSecondsOf, formatUsageRecord, parseUsageRecord, recordNote, openRecordNote, countersignRecordNote, credits } from './usage-record.ts';
export type { UsageRecord, UsageOutcome, RecordWriter, RecordKeys, RecordFailure, RecordRefusal, RecordOpening, CreditRow } from './usage-record.ts';

export { toBase64, fromBase64, toHex, fromHex } from './encoding.ts';

export { AUDIT_FAILURES, auditLedger, compareCredits } from './audit.ts';
export type { LedgerTrust, TreeHead, AuditEntry, ListedSiteKey, ReportedCredit, LedgerAuditInput, AuditFailureReason, EntryRef, AuditFailure, CreditMismatch, LedgerAudit } from './audit.ts';

export { ENTRIES_PER_PAGE, PROOFS_PER_REQUEST, LedgerEvidenceError, fetchAuditEvidence, auditInput, treeToKeep } from './audit-evidence.ts';
export type { LedgerGet, VerifiedTree, EvidenceProgress, EvidenceRequest, AuditEvidence } from './audit-evidence.ts';
