import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Authenticate, Identity, Viewer } from '../access/viewer.ts';
import { ForbiddenError, UnauthenticatedError } from '../errors.ts';
import type { Topics } from '../module.ts';
import { createEventBus } from '../platform/events.ts';
import { createLogger } from '../platform/logger.ts';
import { type IdentityLost, IdentityWatch } from './identity-watch.ts';

const ALICE = 'a0000000-0000-4000-8000-000000000001';
const BOB = 'b0000000-0000-4000-8000-000000000002';

/** An authenticator whose answers the test writes: an identity holds until `revoke` or `deactivate` says otherwise. */
class ScriptedAuthenticator implements Authenticate {
  hearsEveryChange = true;
  rechecks = 0;
  readonly #listeners = new Set<(userId: string | null) => void>();
  readonly #refusals = new Map<string, Error>();
  readonly #roles = new Map<string, Identity['role']>();

  async recheck(identity: Identity): Promise<Identity> {
    this.rechecks += 1;
    const refusal = this.#refusals.get(identity.credentialId);
    if (refusal) throw refusal;
    return { ...identity, role: this.#roles.get(identity.userId) ?? identity.role };
  }

  revoke(identity: Identity): void {
    this.#refusals.set(identity.credentialId, new UnauthenticatedError('The session has ended.'));
  }

  deactivate(identity: Identity): void {
    this.#refusals.set(identity.credentialId, new ForbiddenError('This account is deactivated.'));
  }

  demote(userId: string): void {
    this.#roles.set(userId, 'VIEWER');
  }

  tell(userId: string | null): void {
    for (const listener of this.#listeners) listener(userId);
  }

  onChange(listener: (userId: string | null) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  authenticate(): Promise<Viewer> {
    throw new Error('not used');
  }

  viewerOf(): Viewer {
    throw new Error('not used');
  }

  changed(): void {}
}

let sessions = 0;
const identity = (userId: string, expiresAt: Date | null = null): Identity => ({
  userId,
  email: `${userId}@example.test`,
  role: 'ANALYST',
  via: 'session',
  credentialId: `session-${++sessions}`,
  expiresAt,
});

const watches: IdentityWatch[] = [];

function setUp() {
  const authenticator = new ScriptedAuthenticator();
  const watch = new IdentityWatch(authenticator, createEventBus<Topics>({ logger: createLogger('silent') }).bus, createLogger('silent'));
  watches.push(watch);
  return { authenticator, watch };
}

function watched(watch: IdentityWatch, who: Identity) {
  const lost: IdentityLost[] = [];
  return { ...watch.watch(who, (why) => lost.push(why)), lost };
}

afterEach(() => {
  for (const watch of watches.splice(0)) watch.close();
  vi.useRealTimers();
});

describe('IdentityWatch, while every change is heard', () => {
  it('lets events through without asking the authenticator, however long the stream runs', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { authenticator, watch } = setUp();
    const { recheck } = watched(watch, identity(ALICE));
    for (let second = 0; second < 5; second++) {
      vi.setSystemTime(Date.now() + 1_500);
      expect(await recheck()).toBe(true);
    }
    expect(authenticator.rechecks).toBe(0);
  });

  it("checks a user's identities at once when a change to them is heard, and no one else's", async () => {
    const { authenticator, watch } = setUp();
    const alice = identity(ALICE);
    const alicesSocket = watched(watch, alice);
    const alicesOther = watched(watch, identity(ALICE));
    const bobs = watched(watch, identity(BOB));
    authenticator.revoke(alice);
    authenticator.tell(ALICE);
    await vi.waitFor(() => expect(alicesSocket.lost).toHaveLength(1));
    expect(alicesSocket.lost[0]).toBeInstanceOf(UnauthenticatedError);
    expect(await alicesSocket.recheck()).toBe(false);
    expect(alicesOther.lost).toEqual([]);
    expect(bobs.lost).toEqual([]);
    expect(authenticator.rechecks).toBe(2);
  });

  it('loses a deactivated user with FORBIDDEN, and a changed role with UNAUTHENTICATED', async () => {
    const { authenticator, watch } = setUp();
    const alice = identity(ALICE);
    const alices = watched(watch, alice);
    const bobs = watched(watch, identity(BOB));
    authenticator.deactivate(alice);
    authenticator.demote(BOB);
    authenticator.tell(ALICE);
    authenticator.tell(BOB);
    await vi.waitFor(() => expect(alices.lost.length + bobs.lost.length).toBe(2));
    expect(alices.lost[0]).toBeInstanceOf(ForbiddenError);
    expect(bobs.lost[0]).toBeInstanceOf(UnauthenticatedError);
    expect(bobs.lost[0]?.message).toMatch(/VIEWER/);
  });

  it('makes an event wait for the check a change started, and stops it when that check fails', async () => {
    const { authenticator, watch } = setUp();
    const alice = identity(ALICE);
    const { recheck } = watched(watch, alice);
    authenticator.revoke(alice);
    authenticator.tell(ALICE);
    expect(await recheck()).toBe(false);
  });

  it('checks every identity once when changes may have been missed', async () => {
    const { authenticator, watch } = setUp();
    const all = [watched(watch, identity(ALICE)), watched(watch, identity(ALICE)), watched(watch, identity(BOB))];
    authenticator.tell(null);
    await vi.waitFor(() => expect(authenticator.rechecks).toBe(3));
    expect(all.every(({ lost }) => lost.length === 0)).toBe(true);
  });

  it('checks an identity that expired, and loses it', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { authenticator, watch } = setUp();
    const alice = identity(ALICE, new Date(Date.now() + 60_000));
    const { recheck, lost } = watched(watch, alice);
    expect(await recheck()).toBe(true);
    vi.setSystemTime(Date.now() + 60_000);
    authenticator.revoke(alice);
    expect(await recheck()).toBe(false);
    expect(lost).toHaveLength(1);
  });

  it('hears nothing more once closed', async () => {
    const { authenticator, watch } = setUp();
    watched(watch, identity(ALICE));
    watch.close();
    authenticator.tell(ALICE);
    authenticator.tell(null);
    expect(authenticator.rechecks).toBe(0);
  });
});

describe('IdentityWatch, while changes may go unheard', () => {
  it('re-checks a live identity at most every second while events flow, as before', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { authenticator, watch } = setUp();
    authenticator.hearsEveryChange = false;
    const alice = identity(ALICE);
    const { recheck, lost } = watched(watch, alice);
    expect(await recheck()).toBe(true);
    expect(authenticator.rechecks).toBe(0);
    vi.setSystemTime(Date.now() + 1_000);
    expect(await recheck()).toBe(true);
    expect(await recheck()).toBe(true);
    expect(authenticator.rechecks).toBe(1);
    authenticator.revoke(alice);
    vi.setSystemTime(Date.now() + 1_000);
    expect(await recheck()).toBe(false);
    expect(lost[0]).toBeInstanceOf(UnauthenticatedError);
  });

  it('still hears revocations published on the event bus', async () => {
    const authenticator = new ScriptedAuthenticator();
    authenticator.hearsEveryChange = false;
    const events = createEventBus<Topics>({ logger: createLogger('silent') }).bus;
    const watch = new IdentityWatch(authenticator, events, createLogger('silent'));
    watches.push(watch);
    const alice = identity(ALICE);
    const { lost } = watched(watch, alice);
    authenticator.revoke(alice);
    // The feed subscribes as the watch starts; publish until it has heard.
    await vi.waitFor(async () => {
      events.publish('identityRevoked', { userId: ALICE, reason: 'REVOKED', at: new Date().toISOString() });
      expect(lost).toHaveLength(1);
    });
  });
});

describe('IdentityWatch.guard', () => {
  it('holds no event it passed on while the stream goes on', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const { watch } = setUp();
    const passed: WeakRef<object>[] = [];
    async function* events() {
      for (let i = 0; ; i++) {
        const event = { i, payload: new Array(1_000).fill(i) };
        if (i < 50) passed.push(new WeakRef(event));
        yield event;
      }
    }
    const stream = watch.guard(events(), identity(ALICE), () => ({ i: -1, payload: [] }));
    for (let i = 0; i < 200; i++) await stream.next();
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    // Racing every wait against one promise that lives as long as the stream kept each event until the end.
    expect(passed.filter((ref) => ref.deref() !== undefined).length).toBeLessThan(5);
    await stream.return?.();
  });
});
