import { Migration } from '@mikro-orm/migrations';

export class ScanHosts extends Migration {
  override up(): void {
    this.addSql(`alter table "scan_results" add column "service" text null, add column "version" text null;`);
    this.addSql(`create table "scan_hosts" (
      "id" bigserial primary key,
      "scan_id" uuid not null,
      "address" text not null,
      "hostname" text null,
      "state" text not null check ("state" in ('UNKNOWN', 'UP', 'DOWN')),
      "changed_at" timestamptz(3) not null,
      constraint "scan_hosts_scan_id_foreign" foreign key ("scan_id") references "scans" ("id") on delete cascade
    );`);
    // A retried job records its hosts again: this key makes that a no-op.
    this.addSql(`create unique index "scan_hosts_scan_id_address_unique" on "scan_hosts" ("scan_id", "address");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "scan_hosts";`);
    this.addSql(`alter table "scan_results" drop column "service", drop column "version";`);
  }
}
