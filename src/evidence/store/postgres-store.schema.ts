import { defineEntity, p } from '@mikro-orm/core';

/**
 * The PostgreSQL file store's tables as MikroORM sees them. The store reads and
 * writes them in plain SQL (chunk by chunk, on a connection of its own); these
 * schemas exist so that the ORM's schema comparison knows the tables that
 * migration `EvidenceBlobs` makes, instead of proposing to drop them.
 */
const EvidenceBlobSchema = defineEntity({
  name: 'EvidenceBlob',
  tableName: 'evidence_blobs',
  properties: {
    sha256: p.text().primary(),
    size: p.bigint('number'),
    chunkSize: p.integer(),
    createdAt: p.datetime(3).defaultRaw('now()'),
  },
  checks: [
    { name: 'evidence_blobs_sha256_check', expression: "sha256 ~ '^([0-9a-f]{64}|tmp:[0-9a-f-]{36})$'" },
    { name: 'evidence_blobs_size_check', expression: 'size >= 0' },
    { name: 'evidence_blobs_chunk_size_check', expression: 'chunk_size > 0' },
  ],
});

const EvidenceChunkSchema = defineEntity({
  name: 'EvidenceChunk',
  tableName: 'evidence_chunks',
  properties: {
    blob: () => p.manyToOne(EvidenceBlobSchema).primary().fieldName('sha256').deleteRule('cascade'),
    seq: p.integer().primary(),
    data: p.blob(),
  },
  checks: [{ name: 'evidence_chunks_seq_check', expression: 'seq >= 0' }],
});

export { EvidenceBlobSchema, EvidenceChunkSchema };
