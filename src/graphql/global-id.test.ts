import { describe, expect, it } from 'vitest';
import { fromGlobalId, localIdOf, toGlobalId } from './global-id.ts';

const uuid = '0b6f4c8e-6f0e-4a8e-9f43-2a1c0d3e5f60';

describe('global IDs', () => {
  it('round-trips a type and local ID', () => {
    const id = toGlobalId('Scan', uuid);
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(fromGlobalId(id)).toEqual({ type: 'Scan', id: uuid });
    expect(localIdOf(id, 'Scan')).toBe(uuid);
  });

  it.each([
    '',
    'garbage',
    '%%%',
    Buffer.from('Scan:').toString('base64url'),
    Buffer.from(':abc').toString('base64url'),
    Buffer.from(`Scan:${uuid}'; drop table scans; --`).toString('base64url'),
    `${toGlobalId('Scan', uuid)}!`,
    `${toGlobalId('Scan', uuid)}==`,
  ])('rejects %j', (raw) => {
    expect(fromGlobalId(raw)).toBeUndefined();
  });

  it('gives a local ID only of the kind its type has: a UUID, or a serial for the audit log', () => {
    expect(localIdOf(Buffer.from('Scan:123').toString('base64url'), 'Scan')).toBeUndefined();
    expect(localIdOf(Buffer.from(`AuditEvent:${uuid}`).toString('base64url'), 'AuditEvent', 'serial')).toBeUndefined();
    expect(localIdOf(Buffer.from('AuditEvent:123').toString('base64url'), 'AuditEvent', 'serial')).toBe('123');
    expect(localIdOf(Buffer.from(`Scan:${uuid.toUpperCase()}`).toString('base64url'), 'Scan')).toBeUndefined();
  });

  it('does not answer for an ID of another type', () => {
    expect(localIdOf(Buffer.from(`User:${uuid}`).toString('base64url'), 'Scan')).toBeUndefined();
  });
});
