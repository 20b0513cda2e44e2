import { type Algorithm, hash, verify } from '@node-rs/argon2';
import { InvalidInputError } from '../errors.ts';

export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;

/** OWASP's argon2id baseline (19 MiB, 2 passes). */
// `Algorithm.Argon2id` is a const enum, which type stripping cannot inline.
const OPTIONS = { algorithm: 2 satisfies Algorithm.Argon2id as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/**
 * Refuses passwords too short to resist guessing, too long to hash cheaply,
 * or that merely repeat the email. Length beats composition rules (NIST 800-63B).
 */
export function assertStrongPassword(password: string, email: string, field = 'password'): void {
  if ([...password].length < MIN_PASSWORD_LENGTH) {
    throw new InvalidInputError(field, `The password is too weak: use at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  if (password.length > MAX_PASSWORD_LENGTH)
    throw new InvalidInputError(field, `The password is longer than ${MAX_PASSWORD_LENGTH} characters.`);
  if (new Set(password).size < 4) throw new InvalidInputError(field, 'The password is too weak: it repeats too few characters.');
  // A local part of 1–3 characters would rule out most passwords, not just the ones built on it.
  const name = email.toLowerCase().split('@')[0] ?? '';
  if (name.length >= 4 && password.toLowerCase().includes(name)) {
    throw new InvalidInputError(field, 'The password is too weak: it contains the email address.');
  }
}

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

/** A hash of nothing anyone knows: checked when the email is unknown, so both failures take as long. */
let decoy: Promise<string> | undefined;

/** Whether `password` matches `passwordHash`; with no hash, spends the same time and says no. */
export async function verifyPassword(passwordHash: string | null, password: string): Promise<boolean> {
  let target = passwordHash;
  if (target === null) {
    decoy ??= hashPassword(crypto.randomUUID());
    target = await decoy;
  }
  const matches = await verify(target, password).catch(() => false);
  return passwordHash !== null && matches;
}
