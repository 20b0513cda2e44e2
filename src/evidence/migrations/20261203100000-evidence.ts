import { Migration } from '@mikro-orm/migrations';

/**
 * The evidence records. Deleting a scan deletes its records here (the scans
 * area needs to know nothing of evidence); the blobs nobody references any
 * more are then removed by the sweep.
 */
export class CreateEvidence extends Migration {
  override up(): void {
    this.addSql(`create table "evidence" (
      "id" uuid primary key,
      "scan_id" uuid not null constraint "evidence_scan_id_foreign" references "scans" ("id") on delete cascade,
      "sha256" text not null,
      "size" bigint not null,
      "content_type" text not null,
      "filename" text not null,
      "description" text null,
      "uploaded_by_id" uuid null constraint "evidence_uploaded_by_id_foreign" references "users" ("id") on delete set null,
      "created_at" timestamptz(3) not null);`);
    this.addSql(`create index "evidence_scan_id_created_at_id_index" on "evidence" ("scan_id", "created_at", "id");`);
    this.addSql(`create index "evidence_sha256_index" on "evidence" ("sha256");`);
    this.addSql(`create index "evidence_uploaded_by_id_index" on "evidence" ("uploaded_by_id");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "evidence";`);
  }
}
