/**
 * Domain errors. Services throw these; only `graphql/errors.ts` knows how they
 * map to `extensions.code`, so the worker can run services without GraphQL.
 */
export class DomainError extends Error {
  override name = 'DomainError';
}

/** Input that the schema accepted but the domain refuses. `field` names the input path. */
export class InvalidInputError extends DomainError {
  override name = 'InvalidInputError';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export class NotFoundError extends DomainError {
  override name = 'NotFoundError';
}

export class UnauthenticatedError extends DomainError {
  override name = 'UnauthenticatedError';
}

export class ForbiddenError extends DomainError {
  override name = 'ForbiddenError';
}

/** The request is valid but clashes with the object's current state (an illegal transition). */
export class ConflictError extends DomainError {
  override name = 'ConflictError';
}

export class RateLimitedError extends DomainError {
  override name = 'RateLimitedError';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** More bytes than allowed: the upload was stopped where the limit was crossed, and nothing kept. */
export class PayloadTooLargeError extends DomainError {
  override name = 'PayloadTooLargeError';
  readonly maxBytes: number;

  constructor(message: string, maxBytes: number) {
    super(message);
    this.maxBytes = maxBytes;
  }
}

/** The caller's storage allowance would be exceeded. */
export class QuotaExceededError extends DomainError {
  override name = 'QuotaExceededError';
}
