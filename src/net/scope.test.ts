import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { OutOfScopeError, Scope } from './scope.ts';
import { Target } from './target.ts';

const loopback = Scope.fromCidrs(['127.0.0.0/8', '::1/128']);
const allows = (scope: Scope, raw: string) => scope.allows(Target.parse(raw));

describe('Scope', () => {
  it('allows loopback addresses and networks inside the default scope', () => {
    for (const raw of ['127.0.0.1', '127.255.255.255', '127.0.0.0/8', '127.1.0.0/16', '::1', '::1/128']) {
      expect(allows(loopback, raw), raw).toBe(true);
    }
  });

  it('refuses a target outside every scope, or only partly inside one', () => {
    for (const raw of [
      '10.0.0.1',
      '128.0.0.1',
      '126.255.255.255',
      '127.0.0.0/7',
      '0.0.0.0/0',
      '::2',
      '::/0',
      '::ffff:127.0.0.1',
      '192.168.1.0/24',
    ]) {
      expect(allows(loopback, raw), raw).toBe(false);
    }
  });

  it('needs a CIDR wholly inside one network, not spread over two', () => {
    const split = Scope.fromCidrs(['10.0.0.0/25', '10.0.0.128/25']);
    expect(allows(split, '10.0.0.0/25')).toBe(true);
    expect(allows(split, '10.0.0.200')).toBe(true);
    expect(allows(split, '10.0.0.0/24')).toBe(false);
  });

  it('never matches across address families', () => {
    expect(allows(Scope.fromCidrs(['::/0']), '127.0.0.1')).toBe(false);
    expect(allows(Scope.fromCidrs(['0.0.0.0/0']), '::1')).toBe(false);
  });

  it('checks hostnames only once resolved', () => {
    expect(() => loopback.assertAllows([Target.parse('example.com')])).not.toThrow();
  });

  it('throws a bad-input error naming the field and the allowed networks', () => {
    const attempt = () => loopback.assertAllows([Target.parse('127.0.0.1'), Target.parse('10.0.0.0/8')]);
    expect(attempt).toThrow(OutOfScopeError);
    expect(attempt).toThrow('Target 10.0.0.0/8 is outside the allowed scope (127.0.0.0/8, ::1/128)');
    try {
      attempt();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe('targets');
    }
  });

  it('refuses a configuration that is not a list of CIDRs', () => {
    expect(() => Scope.fromCidrs(['127.0.0.0/8', 'localhost'])).toThrow(/not a CIDR network/);
    expect(() => Scope.fromCidrs(['127.0.0.0/40'])).toThrow(InvalidInputError);
  });
});
