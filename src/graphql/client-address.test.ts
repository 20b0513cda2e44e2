import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress } from './client-address.ts';

const request = (peer: string, forwarded?: string) =>
  ({
    socket: { remoteAddress: peer },
    headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded },
  }) as unknown as IncomingMessage;

describe('clientAddress', () => {
  it('is the TCP peer when no proxy is trusted, whatever X-Forwarded-For claims', () => {
    expect(clientAddress(request('127.0.0.1', '1.2.3.4'), 0)).toBe('127.0.0.1');
    expect(clientAddress(request('::ffff:127.0.0.2'), 0)).toBe('127.0.0.2');
  });

  it('is the address the trusted proxy saw, never one the client wrote further left', () => {
    expect(clientAddress(request('10.0.0.1', '203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientAddress(request('10.0.0.1', '6.6.6.6, 203.0.113.7'), 1)).toBe('203.0.113.7');
    expect(clientAddress(request('10.0.0.2', '6.6.6.6, 203.0.113.7, 10.0.0.1'), 2)).toBe('203.0.113.7');
  });

  it('falls back to the peer when the header is short or not an address', () => {
    expect(clientAddress(request('10.0.0.1', '203.0.113.7'), 3)).toBe('10.0.0.1');
    expect(clientAddress(request('10.0.0.1', 'not-an-ip'), 1)).toBe('10.0.0.1');
  });
});
