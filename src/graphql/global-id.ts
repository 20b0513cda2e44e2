/** Types that implement `Node`, and so have global IDs. */
export type NodeType = 'Scan' | 'User' | 'ApiToken' | 'Scope' | 'AuditEvent';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Audit events are numbered (bigserial); every other type has a UUID. */
const SERIAL = /^[1-9][0-9]{0,17}$/;

/** `Scan` + uuid → an opaque, URL-safe ID that is unique across types. */
export function toGlobalId(type: NodeType, id: string): string {
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
  if (separator < 1 || !(type === 'AuditEvent' ? SERIAL : UUID).test(id)) return undefined;
  // base64url decoding skips stray characters; only the exact encoding is ours.
  if (Buffer.from(decoded).toString('base64url') !== globalId) return undefined;
  return { type, id };
}

/** The local ID when `globalId` names an object of `type`, else `undefined`. */
export function localIdOf(globalId: string, type: NodeType): string | undefined {
  const parsed = fromGlobalId(globalId);
  return parsed?.type === type ? parsed.id : undefined;
}

/**
 * The local ID of `globalId`, or one that matches no row. Services get every
 * ID this way, so they check the caller before anything else: a malformed ID
 * is then answered exactly like an unknown one, and only to whoever may ask.
 */
export function localIdOrNone(globalId: string, type: NodeType): string {
  return localIdOf(globalId, type) ?? '00000000-0000-0000-0000-000000000000';
}
