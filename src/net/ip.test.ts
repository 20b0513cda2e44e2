import { lookup } from 'node:dns/promises';
import { describe, expect, it } from 'vitest';
import { inetAton } from './ip.ts';

describe('inetAton', () => {
  it.each([
    ['0x08080808', '8.8.8.8'],
    ['134744072', '8.8.8.8'],
    ['127.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0X7F.0.0.0x1', '127.0.0.1'],
    ['127.000.000.001', '127.0.0.1'],
    ['010.0.0.1', '8.0.0.1'],
    ['1.2.65535', '1.2.255.255'],
    ['1.16777215', '1.255.255.255'],
    ['4294967295', '255.255.255.255'],
    ['0', '0.0.0.0'],
    ['00000000000127.1', '87.0.0.1'],
  ])('reads %j as %s, as the C resolver does', (text, address) => {
    expect(inetAton(text)).toBe(address);
  });

  it.each([
    '0x',
    '08.1.1.1',
    '1.2.3.4.5',
    '4294967296',
    '1.16777216',
    '1.2.65536',
    '256.1.1.1',
    '1..1',
    '.1',
    'example.com',
    '1e3',
    '-1',
    '+1',
    ' 1',
  ])('reads no address in %j', (text) => {
    expect(inetAton(text)).toBeUndefined();
  });

  // Only strings that are addresses to the C library are looked up: it parses them itself and sends nothing.
  it('agrees with getaddrinfo on a thousand generated numeric forms', async () => {
    let seed = 42;
    const random = (below: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % below;
    };
    const spell = (value: number) =>
      [
        () => value.toString(10),
        () => `0${value.toString(8)}`,
        () => `0x${value.toString(16)}`,
        () => `0X${value.toString(16).toUpperCase()}`,
      ][random(4)]!();
    const forms: string[] = [];
    for (let i = 0; i < 1_000; i++) {
      const value = (random(2 ** 16) * 2 ** 16 + random(2 ** 16)) >>> 0;
      const bytes = [value >>> 24, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff];
      const parts = 1 + random(4);
      const leading = bytes.slice(0, parts - 1);
      const rest = bytes.slice(parts - 1).reduce((sum, byte) => sum * 256 + byte, 0);
      forms.push([...leading, rest].map(spell).join('.'));
    }
    for (const form of forms) {
      const [answer] = await lookup(form, { all: true, family: 4 });
      expect([form, inetAton(form)]).toEqual([form, answer?.address]);
    }
  });
});
