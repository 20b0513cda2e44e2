import { Migration } from '@mikro-orm/migrations';

/**
 * The PostgreSQL file store's blobs (`EVIDENCE_STORE=postgres`): content in
 * chunks, so a blob is written and read a chunk at a time. A put writes under
 * `tmp:<uuid>` inside its transaction and renames to the hash at the end, so
 * nothing but whole blobs is ever committed.
 */
export class EvidenceBlobs extends Migration {
  override up(): void {
    this.addSql(`create table "evidence_blobs" (
      "sha256" text not null primary key
        constraint "evidence_blobs_sha256_check" check ("sha256" ~ '^([0-9a-f]{64}|tmp:[0-9a-f-]{36})$'),
      "size" bigint not null constraint "evidence_blobs_size_check" check ("size" >= 0),
      "chunk_size" integer not null constraint "evidence_blobs_chunk_size_check" check ("chunk_size" > 0),
      "created_at" timestamptz(3) not null default now()
    );`);
    this.addSql(`create table "evidence_chunks" (
      "sha256" text not null constraint "evidence_chunks_sha256_foreign"
        references "evidence_blobs" ("sha256") on delete cascade,
      "seq" integer not null constraint "evidence_chunks_seq_check" check ("seq" >= 0),
      "data" bytea not null,
      primary key ("sha256", "seq")
    );`);
    // Evidence is mostly compressed already (images, PDF, pcapng often): out of line and uncompressed,
    // PostgreSQL neither tries to shrink it nor has to inflate a whole chunk to slice a range from it.
    this.addSql(`alter table "evidence_chunks" alter column "data" set storage external;`);
  }

  override down(): void {
    this.addSql(`drop table "evidence_chunks";`);
    this.addSql(`drop table "evidence_blobs";`);
  }
}
