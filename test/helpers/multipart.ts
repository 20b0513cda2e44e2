import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

export type UploadFile = {
  filename: string;
  /** The part's `Content-Type`; @default 'application/octet-stream' */
  contentType?: string;
  /** The content, or chunks of it (a generated stream), written as the socket takes them. */
  content: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
};

export type UploadOptions = {
  query: string;
  variables: Record<string, unknown>;
  /** Where in `variables` the file goes. @default 'variables.input.file' */
  path?: string;
  file?: UploadFile;
  headers?: Record<string, string>;
  /** Drops the connection once this many bytes of the file were written. */
  abortAfter?: number;
};

export type UploadResult = {
  /** 0 when the connection ended without an answer. */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: { data?: Record<string, unknown> | null; errors?: { message: string; extensions?: Record<string, unknown> }[] } | null;
  /** Bytes of the file written to the socket before the answer came (or the connection ended). */
  fileBytesSent: number;
};

/**
 * A GraphQL multipart request (operations, map, then the file) as curl or a
 * script sends it: chunked, the file streamed with backpressure, the answer
 * read as soon as it comes, even while the file is still being sent.
 */
export function upload(url: string, options: UploadOptions): Promise<UploadResult> {
  const boundary = `----scanops${randomBytes(8).toString('hex')}`;
  const { file } = options;
  const part = (headers: string, body = '') => `--${boundary}\r\n${headers}\r\n\r\n${body}\r\n`;
  const preamble =
    part('Content-Disposition: form-data; name="operations"', JSON.stringify({ query: options.query, variables: options.variables })) +
    part('Content-Disposition: form-data; name="map"', JSON.stringify(file ? { 0: [options.path ?? 'variables.input.file'] } : {}));
  return new Promise((resolve, reject) => {
    let fileBytesSent = 0;
    let answered = false;
    const req = httpRequest(url, {
      method: 'POST',
      // A connection of its own: the server may close it after answering early.
      agent: false,
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...options.headers },
    });
    req.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', () => undefined);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: UploadResult['body'] = null;
        try {
          body = JSON.parse(text) as UploadResult['body'];
        } catch {
          body = null;
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, fileBytesSent });
        req.destroy();
      });
    });
    req.on('error', (error) => {
      if (answered) return;
      if (options.abortAfter !== undefined || fileBytesSent > 0) resolve({ status: 0, headers: {}, body: null, fileBytesSent });
      else reject(error);
    });
    const write = (chunk: string | Uint8Array) =>
      new Promise<void>((done) => {
        if (req.write(chunk)) done();
        else req.once('drain', done);
      });
    void (async () => {
      await write(preamble);
      if (file) {
        await write(
          `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="${file.filename}"\r\nContent-Type: ${file.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        );
        const chunks = file.content instanceof Uint8Array ? [file.content] : file.content;
        for await (const chunk of chunks) {
          if (answered || req.destroyed) return;
          await write(chunk);
          fileBytesSent += chunk.byteLength;
          if (options.abortAfter !== undefined && fileBytesSent >= options.abortAfter) {
            req.destroy();
            return;
          }
        }
        await write('\r\n');
      }
      if (!answered && !req.destroyed) req.end(`--${boundary}--\r\n`);
    })().catch(() => undefined);
  });
}

/** `total` bytes starting with `head`, made as they are read, 64 KiB at a time: nothing held in memory. */
export function* generated(head: Uint8Array, total: number, fill = 0x41): Generator<Uint8Array> {
  yield head;
  const block = Buffer.alloc(65_536, fill);
  for (let left = total - head.byteLength; left > 0; left -= block.byteLength)
    yield left >= block.byteLength ? block : block.subarray(0, left);
}

/** The resident memory of process `pid`, in bytes (Linux). */
export async function rssOf(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}
