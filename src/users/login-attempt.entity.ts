import { defineEntity, p } from '@mikro-orm/core';

/**
 * How a password attempt ended. `PENDING`: counted as a failure from before
 * its hash is checked (so concurrent guesses cannot slip past the limit)
 * until it is known; `LOCKED_OUT`: the first refusal of a lockout.
 */
export type LoginOutcome = 'PENDING' | 'FAILED' | 'SUCCEEDED' | 'LOCKED_OUT';

const LoginAttemptSchema = defineEntity({
  name: 'LoginAttempt',
  tableName: 'login_attempts',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    at: p.datetime(3),
    /** The email tried, as normalized; not a reference: unknown emails count too. */
    email: p.text(),
    ip: p.text().nullable(),
    outcome: p.text().$type<LoginOutcome>(),
  },
  indexes: [{ properties: ['email', 'at'] }, { properties: ['ip', 'at'] }],
});

/**
 * One password check, for the failed-login limits. Apart from the audit log,
 * which only ever appends: these rows change (a success gives its attempt
 * back) and are forgotten once older than the window.
 */
export class LoginAttempt extends LoginAttemptSchema.class {}

LoginAttemptSchema.setClass(LoginAttempt);

export { LoginAttemptSchema };
