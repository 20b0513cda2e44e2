import { createHash, randomBytes } from 'node:crypto';

/** An opaque secret: a recognisable prefix (for secret scanners and humans) and 256 random bits. */
export function newSecret(prefix: 'sops' | 'sopr'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** What is stored of a secret. SHA-256 suffices for 256 random bits; a slow hash protects only guessable input. */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export const isApiTokenSecret = (token: string): boolean => token.startsWith('sops_');
