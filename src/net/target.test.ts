import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { Target, TargetRefusedError } from './target.ts';

describe('Target', () => {
  it.each([
    ['127.0.0.1', 'address', '127.0.0.1', 1n],
    ['::1', 'address', '::1', 1n],
    ['0:0:0:0:0:0:0:1', 'address', '::1', 1n],
    ['2001:DB8::0:1', 'address', '2001:db8::1', 1n],
    ['::ffff:127.0.0.1', 'address', '::ffff:7f00:1', 1n],
    [' 127.0.0.1 ', 'address', '127.0.0.1', 1n],
    ['127.0.0.0/8', 'cidr', '127.0.0.0/8', 16_777_216n],
    ['127.0.0.77/24', 'cidr', '127.0.0.0/24', 256n],
    ['10.1.2.3/32', 'cidr', '10.1.2.3/32', 1n],
    ['0.0.0.0/0', 'cidr', '0.0.0.0/0', 4_294_967_296n],
    ['::1/128', 'cidr', '::1/128', 1n],
    ['2001:db8::ff/120', 'cidr', '2001:db8::/120', 256n],
    ['fe80::1/64', 'cidr', 'fe80::/64', 18_446_744_073_709_551_616n],
    ['localhost', 'hostname', 'localhost', undefined],
    ['Example.COM.', 'hostname', 'example.com', undefined],
    ['a-b.c1.example', 'hostname', 'a-b.c1.example', undefined],
  ])('parses %j as a %s %j', (raw, kind, canonical, hosts) => {
    const target = Target.parse(raw);
    expect(target.kind).toBe(kind);
    expect(target.toString()).toBe(canonical);
    expect(target.hostCount).toBe(hosts);
  });

  it.each([
    '',
    '   ',
    '300.1.1.1',
    '1.2.3',
    '127.0.0.1/33',
    '127.0.0.1/-1',
    '127.0.0.1/',
    '127.0.0.1/8/8',
    '/8',
    '::1/129',
    '01.2.3.4',
    'fe80::1%eth0',
    '-bad.example',
    'bad-.example',
    'under_score.example',
    'a..b',
    `${'a'.repeat(64)}.example`,
    `${'a.'.repeat(127)}a`,
    'http://127.0.0.1',
    '127.0.0.1:80',
    'host name',
  ])('refuses %j naming the targets field', (raw) => {
    expect(() => Target.parse(raw)).toThrow(InvalidInputError);
    try {
      Target.parse(raw);
    } catch (error) {
      expect((error as InvalidInputError).field).toBe('targets');
    }
  });

  it.each([
    ['0x08080808', '8.8.8.8'],
    ['134744072', '8.8.8.8'],
    ['127.1', '127.0.0.1'],
    ['127.1.', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0x7f000001/8', '127.0.0.1'],
    ['010.0.0.1/32', '8.0.0.1'],
  ])('refuses %j, which the system resolver reads as %s, asking for the dotted form', (raw, address) => {
    let refused: unknown;
    try {
      Target.parse(raw);
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(TargetRefusedError);
    expect(refused).toMatchObject({ field: 'targets', reason: 'NUMERIC_ADDRESS' });
    expect((refused as Error).message).toContain(`IPv4 address ${address} in another notation; write it in dotted form, as ${address}.`);
  });
});
