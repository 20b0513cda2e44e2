import { randomBytes, randomUUID } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { errors, jwtVerify, SignJWT } from 'jose';
import { UnauthenticatedError } from '../errors.ts';
import type { Clock } from '../platform/clock.ts';
import { isUuid } from '../platform/uuid.ts';
import { ROLES, type Role } from './role.ts';
import type { Identity } from './viewer.ts';

export const ISSUER = 'scanops';
export const AUDIENCE = 'scanops-api';
/** Links that carry their own credential (downloads): never accepted as access tokens, nor those as links. */
export const LINK_AUDIENCE = 'scanops-link';

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

  /** A link to `resource` carrying `identity`, valid `ttlSeconds` (see `signLink`). */
  signLink(identity: Identity, resource: string, ttlSeconds: number): Promise<string> {
    return signLink(this.#key, identity, resource, ttlSeconds, this.#clock.now());
  }

  verifyLink(token: string, resource: string): Promise<Identity> {
    return verifyLink(this.#key, token, resource, this.#clock.now());
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
 * A link's credential: the identity that asked for it, for one resource, for
 * `ttlSeconds`. Whoever follows it acts as that identity, which is checked
 * again (still active, credential not revoked) at every use.
 */
export async function signLink(key: Uint8Array, identity: Identity, resource: string, ttlSeconds: number, now: Date): Promise<string> {
  const at = Math.floor(now.getTime() / 1000);
  return new SignJWT({
    role: identity.role,
    email: identity.email,
    via: identity.via,
    cid: identity.credentialId,
    cexp: identity.expiresAt === null ? null : identity.expiresAt.getTime(),
    res: resource,
  })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(identity.userId)
    .setIssuer(ISSUER)
    .setAudience(LINK_AUDIENCE)
    .setIssuedAt(at)
    .setExpirationTime(at + ttlSeconds)
    .sign(key);
}

/** The identity a link for `resource` carries; UNAUTHENTICATED for a link expired, forged or for another resource. */
export async function verifyLink(key: Uint8Array, token: string, resource: string, now: Date): Promise<Identity> {
  try {
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: LINK_AUDIENCE, currentDate: now });
    const { sub, role, email, via, cid, cexp, res } = payload;
    if (
      res !== resource ||
      !isUuidClaim(sub) ||
      !isUuidClaim(cid) ||
      !ROLES.includes(role as Role) ||
      typeof email !== 'string' ||
      (via !== 'session' && via !== 'apiToken') ||
      (cexp !== null && typeof cexp !== 'number')
    ) {
      throw new errors.JWTClaimValidationFailed('missing claims', payload);
    }
    return { userId: sub, role: role as Role, email, via, credentialId: cid, expiresAt: cexp === null ? null : new Date(cexp) };
  } catch (error) {
    if (error instanceof errors.JWTExpired) throw new UnauthenticatedError('The link has expired: ask for the evidence again.');
    throw new UnauthenticatedError('The link is invalid.');
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
