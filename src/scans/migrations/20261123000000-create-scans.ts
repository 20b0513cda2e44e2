import { Migration } from '@mikro-orm/migrations';

export class CreateScans extends Migration {
  override up(): void {
    this.addSql(`create table "scans" (
      "id" uuid not null primary key,
      "targets" text[] not null check (cardinality("targets") > 0),
      "ports" text not null,
      "scan_type" text not null check ("scan_type" in ('CONNECT', 'SYN', 'UDP', 'VERSION')),
      "status" text not null check ("status" in ('PENDING', 'QUEUED', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED')),
      "created_at" timestamptz(3) not null,
      "updated_at" timestamptz(3) not null,
      "started_at" timestamptz(3) null,
      "finished_at" timestamptz(3) null,
      "error" text null
    );`);
    this.addSql(`create index "scans_created_at_id_index" on "scans" ("created_at", "id");`);
    this.addSql(`create index "scans_updated_at_id_index" on "scans" ("updated_at", "id");`);
    this.addSql(`create index "scans_status_index" on "scans" ("status");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "scans";`);
  }
}
