import { isUuid, NO_UUID } from '../platform/uuid.ts';

/** Which local IDs a node type has: UUIDs, or positive serial numbers (the audit log's). */
export type LocalIdKind = 'uuid' | 'serial';

const SERIAL = /^[1-9][0-9]{0,17}$/;
const TYPE = /^[A-Z][A-Za-z]{0,63}$/;

const isLocalId = (id: string, kind: LocalIdKind) => (kind === 'serial' ? SERIAL.test(id) : isUuid(id) && id === id.toLowerCase());

/** `Scan` + uuid → an opaque, URL-safe ID that is unique across types. */
export function toGlobalId(type: string, id: string): string {
  return Buffer.from(`${type}:${id}`).toString('base64url');
}

/**
 * The type and local ID inside a global ID, or `undefined` for anything this
 * API did not issue (so lookups answer "not found" instead of failing in SQL).
 */
export function fromGlobalId(globalId: string): { type: string; id: string } | undefined {
  const decoded = Buffer.from(globalId, 'base64url').toString('utf8');
  const separator = decoded.indexOf(':');
  const type = decoded.slice(0, separator);
  const id = decoded.slice(separator + 1);
  if (separator < 1 || !TYPE.test(type) || !(isLocalId(id, 'uuid') || isLocalId(id, 'serial'))) return undefined;
  // base64url decoding skips stray characters; only the exact encoding is ours.
  if (Buffer.from(decoded).toString('base64url') !== globalId) return undefined;
  return { type, id };
}

/** The local ID when `globalId` names an object of `type`, else `undefined`. */
export function localIdOf(globalId: string, type: string, kind: LocalIdKind = 'uuid'): string | undefined {
  const parsed = fromGlobalId(globalId);
  return parsed?.type === type && isLocalId(parsed.id, kind) ? parsed.id : undefined;
}

/**
 * The local ID of `globalId`, or one that matches no row. Services get every
 * ID this way, so they check the caller before anything else: a malformed ID
 * is then answered exactly like an unknown one, and only to whoever may ask.
 */
export function localIdOrNone(globalId: string, type: string): string {
  return localIdOf(globalId, type) ?? NO_UUID;
}
