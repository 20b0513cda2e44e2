import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../errors.ts';
import { assertStrongPassword, hashPassword, verifyPassword } from './password.ts';

describe('passwords', () => {
  it.each([
    ['short', 'at least 12 characters'],
    ['aaaaaaaaaaaaaaaa', 'repeats too few characters'],
    ['alice-is-the-best-2026', 'contains the email address'],
    ['x'.repeat(257), 'longer than 256'],
  ])('refuses %j as weak, naming the field', (password, reason) => {
    const attempt = () => assertStrongPassword(password, 'Alice@example.com');
    expect(attempt).toThrow(InvalidInputError);
    expect(attempt).toThrow(reason);
  });

  it('does not hold a short email name against a password that merely contains its letters', () => {
    expect(() => assertStrongPassword('correct horse battery staple', 'a@x.io')).not.toThrow();
    expect(() => assertStrongPassword('joe and the correct staple', 'jo@example.com')).not.toThrow();
  });

  it('accepts a long passphrase, counting characters rather than bytes', () => {
    expect(() => assertStrongPassword('correct horse battery staple', 'alice@example.com')).not.toThrow();
    expect(() => assertStrongPassword('ünïcödé😀😀😀abc', 'alice@example.com')).not.toThrow();
  });

  it('stores an argon2id hash that only the right password matches', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(hash).not.toContain('correct horse');
    expect(await verifyPassword(hash, 'correct horse battery staple')).toBe(true);
    expect(await verifyPassword(hash, 'correct horse battery stapl')).toBe(false);
  });

  it('says no without a hash, after the same work as a real check', async () => {
    expect(await verifyPassword(null, 'anything at all')).toBe(false);
    expect(await verifyPassword('not a hash', 'anything at all')).toBe(false);
  });
});
