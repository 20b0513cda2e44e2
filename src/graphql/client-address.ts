import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

/**
 * The client's address, for the audit log and per-address login limits. The
 * TCP peer, unless `trustedProxyHops` proxies in front of us append to
 * `X-Forwarded-For`: then the entry that many hops back. Entries further left
 * are whatever the client sent, so they are never believed.
 */
export function clientAddress(request: IncomingMessage, trustedProxyHops: number): string | null {
  const peer = normalize(request.socket.remoteAddress);
  const forwarded = request.headers['x-forwarded-for'];
  if (trustedProxyHops === 0 || typeof forwarded !== 'string') return peer;
  const chain = [...forwarded.split(',').map((entry) => entry.trim()), peer];
  const client = normalize(chain[chain.length - 1 - trustedProxyHops] ?? undefined);
  return client ?? peer;
}

/** `::ffff:10.0.0.1` is 10.0.0.1: one client, one key for the rate limit. */
function normalize(address: string | null | undefined): string | null {
  if (!address || !isIP(address)) return null;
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
