import { Migration } from '@mikro-orm/migrations';

export class ScanExecution extends Migration {
  override up(): void {
    // Defaults only fill existing rows; new ones always get values from the application.
    this.addSql(`alter table "scans"
      add column "options" jsonb not null default '{}',
      add column "probes_total" integer not null default 0,
      add column "probes_done" integer not null default 0,
      add column "open_ports" integer not null default 0;`);
    this.addSql(`alter table "scans"
      alter column "options" drop default,
      alter column "probes_total" drop default,
      alter column "probes_done" drop default,
      alter column "open_ports" drop default;`);
    this.addSql(`create table "scan_results" (
      "id" bigserial primary key,
      "scan_id" uuid not null,
      "address" text not null,
      "protocol" text not null check ("protocol" in ('TCP', 'UDP')),
      "port" integer not null,
      "state" text not null check ("state" in ('OPEN', 'CLOSED', 'FILTERED')),
      "banner" text null,
      "found_at" timestamptz(3) not null,
      constraint "scan_results_scan_id_foreign" foreign key ("scan_id") references "scans" ("id") on delete cascade,
      constraint "scan_results_port_check" check ((port >= 1) AND (port <= 65535))
    );`);
    // A retried job writes the same rows again: this key makes that a no-op, never a duplicate.
    this.addSql(
      `create unique index "scan_results_scan_id_address_protocol_port_unique" on "scan_results" ("scan_id", "address", "protocol", "port");`,
    );
    this.addSql(`create index "scan_results_scan_id_state_index" on "scan_results" ("scan_id", "state");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "scan_results";`);
    this.addSql(
      `alter table "scans" drop column "options", drop column "probes_total", drop column "probes_done", drop column "open_ports";`,
    );
  }
}
