import { Migration } from '@mikro-orm/migrations';

/**
 * Captures and their flows. Deleting a scan deletes its captures, and a
 * capture its flows; a capture outlives the evidence it replayed or saved.
 */
export class CreateCaptures extends Migration {
  override up(): void {
    this.addSql(
      `create table "captures" ("id" uuid not null, "owner_id" uuid null, "scan_id" uuid null, "sensor" text null, "interface" text null, "source_evidence_id" uuid null, "filter" text null, "effective_filter" text null, "snap_length" int not null, "max_packets" bigint not null, "max_seconds" int not null, "max_bytes" bigint not null, "speed" double precision not null, "save_evidence" boolean not null, "wait_for_subscribers" int not null, "watchers" int not null, "status" text not null, "error" text null, "stop_requested_at" timestamptz(3) null, "created_at" timestamptz(3) not null, "started_at" timestamptz(3) null, "ended_at" timestamptz(3) null, "packets" bigint not null, "bytes" bigint not null, "captured_bytes" bigint not null, "dropped_by_kernel" bigint not null, "dropped_for_subscribers" bigint not null, "decode_errors" bigint not null, "tally" jsonb not null, "saved_evidence_id" uuid null, primary key ("id"));`,
    );
    this.addSql(`create index "captures_created_at_id_index" on "captures" ("created_at", "id");`);
    this.addSql(`create index "captures_owner_id_created_at_id_index" on "captures" ("owner_id", "created_at", "id");`);
    this.addSql(`create index "captures_scan_id_created_at_id_index" on "captures" ("scan_id", "created_at", "id");`);
    this.addSql(`create index "captures_status_index" on "captures" ("status");`);
    this.addSql(
      `alter table "captures" add constraint "captures_status_check" check ("status" in ('QUEUED', 'RUNNING', 'STOPPED', 'COMPLETED', 'FAILED'));`,
    );
    this.addSql(
      `create table "capture_flows" ("id" uuid not null, "capture_id" uuid not null, "protocol" text not null, "ip_protocol" smallint null, "src" text not null, "src_port" int null, "dst" text not null, "dst_port" int null, "first_seen" timestamptz(3) not null, "last_seen" timestamptz(3) not null, "originator_packets" bigint not null, "originator_bytes" bigint not null, "responder_packets" bigint not null, "responder_bytes" bigint not null, "packets" bigint not null, "bytes" bigint not null, "state" text not null, "tcp_flags" smallint not null, primary key ("id"));`,
    );
    this.addSql(`create index "capture_flows_capture_id_first_seen_id_index" on "capture_flows" ("capture_id", "first_seen", "id");`);
    this.addSql(`create index "capture_flows_capture_id_last_seen_id_index" on "capture_flows" ("capture_id", "last_seen", "id");`);
    this.addSql(`create index "capture_flows_capture_id_bytes_id_index" on "capture_flows" ("capture_id", "bytes", "id");`);
    this.addSql(`create index "capture_flows_capture_id_packets_id_index" on "capture_flows" ("capture_id", "packets", "id");`);
    this.addSql(
      `alter table "capture_flows" add constraint "capture_flows_state_check" check ("state" in ('ATTEMPTED', 'REJECTED', 'ESTABLISHED', 'CLOSED', 'RESET', 'ACTIVE'));`,
    );
    this.addSql(
      `alter table "captures" add constraint "captures_owner_id_foreign" foreign key ("owner_id") references "users" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "captures" add constraint "captures_scan_id_foreign" foreign key ("scan_id") references "scans" ("id") on delete cascade;`,
    );
    this.addSql(
      `alter table "captures" add constraint "captures_source_evidence_id_foreign" foreign key ("source_evidence_id") references "evidence" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "captures" add constraint "captures_saved_evidence_id_foreign" foreign key ("saved_evidence_id") references "evidence" ("id") on delete set null;`,
    );
    this.addSql(
      `alter table "capture_flows" add constraint "capture_flows_capture_id_foreign" foreign key ("capture_id") references "captures" ("id") on delete cascade;`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "capture_flows";`);
    this.addSql(`drop table if exists "captures";`);
  }
}
