import type { Readable } from 'node:stream';

/** A blob as stored: named by the SHA-256 of its content (hex, lower case). */
export type StoredBlob = { sha256: string; size: number };

/** Bytes `start` to `end`, both included, as HTTP ranges count them. */
export type ByteRange = { start: number; end: number };

/** More bytes came than `put` was allowed to take: it stopped reading and stored nothing. */
export class BlobTooLargeError extends Error {
  readonly maxBytes: number;

  constructor(maxBytes: number) {
    super(`The file is larger than ${maxBytes} bytes.`);
    this.name = 'BlobTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/**
 * Where evidence content lives, content-addressed: identical content is
 * stored once, whoever uploads it. Records (who uploaded what, for which
 * scan) live in the evidence table and point here by `sha256`; a blob no
 * record points to is an orphan, removed by `delete` or the sweep on start.
 * Adapters: the file system (`EVIDENCE_STORE=fs`) and PostgreSQL
 * (`EVIDENCE_STORE=postgres`), both run through one contract suite.
 */
export interface FileStore {
  /**
   * Streams `source` in, hashing as it goes, and resolves once the content is
   * durable (fsynced, or committed). Past `maxBytes` it stops reading at once
   * and throws `BlobTooLargeError`; an aborted `signal` or a failing source
   * throws that error. Either way nothing is left behind. Content already
   * stored is kept once.
   */
  put(source: AsyncIterable<Uint8Array>, options: { maxBytes: number; signal?: AbortSignal }): Promise<StoredBlob>;
  /** The content, or the bytes of `range` (already checked to lie within the blob). Throws for an unknown blob. */
  read(sha256: string, range?: ByteRange): Readable;
  /** The size of a stored blob, or `null`. */
  stat(sha256: string): Promise<{ size: number } | null>;
  /** Removes the blob; removing one that is not there does nothing. */
  delete(sha256: string): Promise<void>;
  /** Every blob stored: what the sweep compares with the records. */
  list(): AsyncIterable<string>;
  /** Releases what the store holds of its own (connections), when the app stops. */
  close?(): Promise<void>;
}
