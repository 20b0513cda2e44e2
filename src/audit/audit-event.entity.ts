import { defineEntity, p } from '@mikro-orm/core';

/**
 * Every audit action, declared by the area that records it (its module file
 * merges `interface AuditActions { SCAN_CREATED: true }`, and its SDL extends
 * `enum AuditAction`): a new action needs no change here, nor a migration.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the areas
export interface AuditActions {}
export type AuditAction = keyof AuditActions & string;

const AuditEventSchema = defineEntity({
  name: 'AuditEvent',
  tableName: 'audit_events',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    at: p.datetime(3),
    /** Plain text, no check constraint: a new action needs no migration. */
    action: p.text().$type<AuditAction>(),
    /** No foreign key: the record outlives what it names. */
    actorId: p.uuid().nullable(),
    /** The actor's email then, or the email a failed login tried. */
    actorEmail: p.text().nullable(),
    ip: p.text().nullable(),
    /** What was acted on: a global ID (`Scan:…`, `User:…`), or null. */
    targetId: p.text().nullable(),
    details: p.json<Record<string, unknown>>(),
  },
  // Failed logins and lockouts are counted per email and per address (login limits).
  indexes: [
    { properties: ['action', 'at'] },
    { properties: ['actorId'] },
    { properties: ['action', 'actorEmail', 'at'] },
    { properties: ['action', 'ip', 'at'] },
  ],
  // The trail only appends: the database itself refuses to change or remove an entry.
  triggers: [
    {
      name: 'audit_events_append_only',
      timing: 'before',
      events: ['update', 'delete'],
      forEach: 'row',
      body: `raise exception 'audit_events only appends: % refused', tg_op using errcode = 'insufficient_privilege';`,
    },
  ],
});

/** One security-relevant act: who, when, from where, on what. Written, never updated. */
export class AuditEvent extends AuditEventSchema.class {}

AuditEventSchema.setClass(AuditEvent);

export { AuditEventSchema };
