import { Migration } from '@mikro-orm/migrations';

/**
 * The capture sensors: every worker registers itself under its name with the
 * interfaces it can capture on, and keeps `last_seen_at` fresh; the index
 * finds those online.
 */
export class CreateCaptureSensors extends Migration {
  override up(): void {
    this.addSql(`create table "capture_sensors" (
      "id" uuid primary key,
      "name" text not null constraint "capture_sensors_name_unique" unique,
      "interfaces" jsonb not null,
      "started_at" timestamptz(3) not null,
      "last_seen_at" timestamptz(3) not null);`);
    this.addSql(`create index "capture_sensors_last_seen_at_index" on "capture_sensors" ("last_seen_at");`);
  }

  override down(): void {
    this.addSql(`drop table if exists "capture_sensors";`);
  }
}
