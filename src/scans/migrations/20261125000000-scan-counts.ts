import { Migration } from '@mikro-orm/migrations';

export class ScanCounts extends Migration {
  override up(): void {
    this.addSql(`alter table "scans"
      add column "closed_ports" integer not null default 0,
      add column "filtered_ports" integer not null default 0,
      add column "probes_estimate" integer not null default 0;`);
    // Existing scans count what they stored, whatever their counters said.
    this.addSql(`update "scans" s set
      ("probes_done", "open_ports", "closed_ports", "filtered_ports", "probes_estimate") = (
        select count(*), count(*) filter (where r."state" = 'OPEN'), count(*) filter (where r."state" = 'CLOSED'),
          count(*) filter (where r."state" = 'FILTERED'), count(*)
        from "scan_results" r where r."scan_id" = s."id");`);
    this.addSql(`alter table "scans"
      alter column "closed_ports" drop default,
      alter column "filtered_ports" drop default,
      alter column "probes_estimate" drop default,
      add constraint "scans_counts_check" check ("probes_done" = "open_ports" + "closed_ports" + "filtered_ports"),
      add constraint "scans_probes_estimate_check" check ("probes_estimate" >= "probes_done");`);
  }

  override down(): void {
    this.addSql(`alter table "scans" drop constraint "scans_counts_check", drop constraint "scans_probes_estimate_check",
      drop column "closed_ports", drop column "filtered_ports", drop column "probes_estimate";`);
  }
}
