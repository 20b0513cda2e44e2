import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { Scope } from '../net/scope.ts';
import { Target } from '../net/target.ts';
import { createResolver, type Resolve } from '../platform/dns.ts';
import { resolveHosts } from './scan-hosts.ts';

const loopback = Scope.fromCidrs(['127.0.0.0/8', '::1/128']);
const targets = (...raw: string[]) => raw.map((text) => Target.parse(text));
const names: Record<string, { address: string; family: number }[]> = {
  'db.internal': [
    { address: '127.0.0.9', family: 4 },
    { address: '::1', family: 6 },
  ],
  'evil.example': [
    { address: '127.0.0.1', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ],
};
const resolve: Resolve = async (name) => {
  const found = names[name];
  if (!found) throw new Error('ENOTFOUND');
  return found;
};

describe('resolveHosts', () => {
  it('expands CIDRs, resolves names (remembering them) and drops duplicates', async () => {
    const hosts = await resolveHosts(targets('127.0.0.8/30', '127.0.0.9', 'db.internal'), loopback, 100, resolve);
    expect(hosts).toEqual([
      { address: '127.0.0.8', family: 4 },
      { address: '127.0.0.9', family: 4, hostname: 'db.internal' },
      { address: '127.0.0.10', family: 4 },
      { address: '127.0.0.11', family: 4 },
      { address: '::1', family: 6, hostname: 'db.internal' },
    ]);
  });

  it('refuses a name that resolves to any address outside the scope', async () => {
    await expect(resolveHosts(targets('evil.example'), loopback, 100, resolve)).rejects.toThrow(
      'Hostname evil.example resolves to 10.0.0.5, which is outside the allowed scope',
    );
  });

  it('refuses a name that does not resolve, and too many hosts', async () => {
    await expect(resolveHosts(targets('nowhere.example'), loopback, 100, resolve)).rejects.toThrow('does not resolve');
    await expect(resolveHosts(targets('127.0.0.0/24'), loopback, 100, resolve)).rejects.toThrow(InvalidInputError);
  });

  it('resolves localhost with the system resolver', async () => {
    const hosts = await resolveHosts(targets('localhost'), loopback, 10, createResolver());
    expect(hosts.length).toBeGreaterThan(0);
    expect(hosts.every((host) => ['127.0.0.1', '::1'].includes(host.address))).toBe(true);
  });
});
