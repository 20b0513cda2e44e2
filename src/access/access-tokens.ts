import { randomBytes, randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import { isUuid } from '../platform/uuid.ts';
import { ROLES, type Role } from './role.ts';

export const ISSUER = 'scanops';
export const AUDIENCE = 'scanops-api';

const isUuidClaim = (value: unknown): value is string => typeof value === 'string' && isUuid(value);

export type AccessClaims = { userId: string; role: Role; sessionId: string; tokenId: string; expiresAt: Date };

/**
 * Short-lived JWTs (HS256 via jose) for one login session. Verification pins
 * the algorithm, issuer and audience, so `alg: none`, a token for another
 * service, or one signed with another key is refused.
 */
export class AccessTokens {
  readonly #key: Uint8Array;
  readonly #ttlSeconds: number;
  readonly #clock: Clock;

  constructor(key: Uint8Array, ttlSeconds: number, clock: Clock) {
    this.#key = key;
    this.#ttlSeconds = ttlSeconds;
    this.#clock = clock;
  }

  async sign(userId: string, role: Role, sessionId: string): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(this.#clock.now().getTime() / 1000);
    const token = await new SignJWT({ role, sid: sessionId })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + this.#ttlSeconds)
      .setJti(randomUUID())
      .sign(this.#key);
    return { token, expiresAt: new Date((now + this.#ttlSeconds) * 1000) };
  }

  /** The claims of a valid token; UNAUTHENTICATED, saying why, otherwise. */
  async verify(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.#key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
        currentDate: this.#clock.now(),
      });
      const { sub, role, sid, jti, exp } = payload;
      if (!isUuidClaim(sub) || !isUuidClaim(sid) || typeof jti !== 'string' || !ROLES.includes(role as Role)) {
        throw new errors.JWTClaimValidationFailed('missing claims', payload);
      }
      return { userId: sub, role: role as Role, sessionId: sid, tokenId: jti as string, expiresAt: new Date((exp ?? 0) * 1000) };
    } catch (error) {
      if (error instanceof errors.JWTExpired)
        throw new UnauthenticatedError('The access token has expired: get a new one with `refreshAccessToken`.');
      throw new UnauthenticatedError('The access token is invalid.');
    }
  }
}

/**
 * The signing key: `JWT_SECRET`, or else one made at random on the first start
 * and kept (mode 600) in the data folder, so every install has its own and
 * restarts keep sessions. Processes sharing the folder share the key.
 */
export function loadSigningKey(secret: string | undefined, dataDir: string): Uint8Array {
  if (secret) return new TextEncoder().encode(secret);
  const file = path.join(dataDir, 'jwt-secret');
  mkdirSync(dataDir, { recursive: true });
  // Written aside, then linked in: a process starting alongside never reads a half-written key.
  const draft = `${file}.${process.pid}.${randomUUID()}`;
  writeFileSync(draft, randomBytes(48).toString('base64url'), { mode: 0o600 });
  try {
    linkSync(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    rmSync(draft, { force: true });
  }
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim());
}
