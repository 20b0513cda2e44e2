import { describe, expect, it } from 'vitest';
import { ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors.ts';
import { modules } from '../modules.ts';
import type { Role } from './role.ts';
import { composeGrants, type Identity, Viewer } from './viewer.ts';

const grants = composeGrants(modules.map((module) => module.grants));

const as = (role: Role, userId = 'me'): Viewer =>
  Viewer.of({ userId, email: 'me@example.com', role, via: 'session', credentialId: 'session', expiresAt: null } satisfies Identity, grants);

describe('Viewer', () => {
  it('refuses everything to an anonymous caller, with the reason a refused credential gave', () => {
    expect(() => Viewer.anonymous().assert('scan:read')).toThrow(UnauthenticatedError);
    const expired = new UnauthenticatedError('The access token has expired.');
    expect(() => Viewer.rejected(expired).assert('scan:read')).toThrow(expired);
    expect(Viewer.anonymous().mayAccess('scan:read', null)).toBe(false);
  });

  it('lets a VIEWER read every scan and change none', () => {
    const viewer = as('VIEWER');
    expect(viewer.reach('scan:read')).toBe('all');
    expect(viewer.mayAccess('scan:read', 'someone')).toBe(true);
    expect(() => viewer.assert('scan:create')).toThrow(ForbiddenError);
    expect(() => viewer.assertOn('scan:write', 'scan:read', 'someone', 'Scan not found.')).toThrow(ForbiddenError);
  });

  it("lets an ANALYST act on its own scans only; another's is missing, not forbidden", () => {
    const analyst = as('ANALYST');
    expect(analyst.mayAccess('scan:read', 'me')).toBe(true);
    expect(analyst.mayAccess('scan:read', 'someone')).toBe(false);
    expect(analyst.mayAccess('scan:read', null)).toBe(false);
    expect(() => analyst.assertOn('scan:write', 'scan:read', 'me', 'Scan not found.')).not.toThrow();
    expect(() => analyst.assertOn('scan:write', 'scan:read', 'someone', 'Scan not found.')).toThrow(NotFoundError);
    expect(() => analyst.assert('scope:manage')).toThrow(ForbiddenError);
    expect(() => analyst.assert('audit:read')).toThrow(ForbiddenError);
  });

  it("lets an ADMIN do everything, on anyone's objects", () => {
    const admin = as('ADMIN');
    for (const permission of ['scan:write', 'user:manage', 'token:manage', 'scope:manage', 'audit:read'] as const) {
      expect(admin.mayAccess(permission, 'someone')).toBe(true);
    }
  });

  it('shows everyone themselves, and only ADMIN the others', () => {
    expect(as('VIEWER').mayAccess('user:read', 'me')).toBe(true);
    expect(as('VIEWER').mayAccess('user:read', 'someone')).toBe(false);
    expect(as('ANALYST').mayAccess('token:manage', 'someone')).toBe(false);
  });
});
