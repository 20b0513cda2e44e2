import { type IncomingMessage, type ServerResponse, STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import type { GraphQLParams, Plugin, YogaServerInstance } from 'graphql-yoga';
import type { Logger } from '../platform/logger.ts';
import type { GraphQLContext } from './context.ts';
import { CSRF_HEADERS } from './hardening.ts';
import type { ServerContext } from './ws.ts';

/**
 * A file part of a multipart request, read as its resolver reads it: nothing
 * of it has left the socket before `stream()` is read, so a refusal (no
 * credential, a foreign scan, a quota) costs no more than the headers. `size`
 * is unknown (0) while it streams.
 */
export class StreamedFile extends File {
  readonly #source: BusboyFileStream;

  constructor(source: BusboyFileStream, name: string, type: string) {
    super([], name, { type });
    this.#source = source;
  }

  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    // No queue of its own (high-water mark 0): past a limit, the least possible has been read off the socket.
    return Readable.toWeb(this.#source, { strategy: { highWaterMark: 0 } }) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}

/** Hands yoga the operation the multipart handler parsed, instead of letting yoga parse (and buffer) the body. */
export function useStreamedUploads(): Plugin {
  return {
    onRequestParse({ serverContext, setRequestParser }) {
      const upload = (serverContext as ServerContext).upload;
      if (upload) setRequestParser(() => upload);
    },
  };
}

type Yoga = YogaServerInstance<ServerContext, GraphQLContext>;
type Listener = (request: IncomingMessage, response: ServerResponse) => void;

export type UploadOptions = { path: string; maxFieldBytes: number; logger: Logger };

/**
 * GraphQL multipart requests (the graphql-multipart-request-spec), parsed as
 * they stream in: yoga's own parsing reads the whole body into memory first.
 * The `operations` and `map` parts are read (each within the JSON body
 * limit), then the operation runs with the file part still unread in the
 * socket, as a `StreamedFile` its resolver streams into the store. When the
 * operation answers before the file was read to its end (refused, or too
 * large), the server reads no more of the request and closes the connection.
 * Every other request goes to `next` (and its body limit).
 */
export function withUploads(yoga: Yoga, { path, maxFieldBytes, logger }: UploadOptions, next: Listener): Listener {
  return (request, response) => {
    const type = request.headers['content-type'] ?? '';
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (request.method !== 'POST' || url.pathname !== path || !/^multipart\/form-data\b/i.test(type)) return next(request, response);
    // CSRF prevention, before a byte of the body: a browser sends a multipart form cross-site without a preflight.
    if (!CSRF_HEADERS.some((header) => request.headers[header] !== undefined)) {
      return refuse(
        request,
        response,
        403,
        'FORBIDDEN',
        'A multipart request must carry an `x-graphql-yoga-csrf` (or `apollo-require-preflight`) header: CSRF prevention.',
      );
    }
    // The socket may have carried requests before this one (keep-alive): count from here.
    const readBefore = request.socket.bytesRead;
    void handle(yoga, request, response, maxFieldBytes, logger, readBefore).catch((error: unknown) => {
      logger.error({ err: error }, 'unexpected error in a multipart request');
      if (!response.headersSent) refuse(request, response, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error.');
      else response.destroy();
    });
  };
}

/** How long a connection answered early stays open, unread, for its answer to reach the client. */
const LINGER_MS = 2_000;

class MultipartError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(message: string, status = 400, code = 'BAD_USER_INPUT') {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function handle(
  yoga: Yoga,
  request: IncomingMessage,
  response: ServerResponse,
  maxFieldBytes: number,
  logger: Logger,
  readBefore: number,
): Promise<void> {
  let busboy: ReturnType<typeof Busboy>;
  try {
    busboy = Busboy({
      headers: request.headers as never,
      // The name as sent, for display: it never names a file on the server.
      preservePath: true,
      // Small buffers between the socket and the store: what is read past a limit stays small.
      highWaterMark: 4 * 1024,
      fileHwm: 4 * 1024,
      limits: { fields: 2, fieldSize: maxFieldBytes, files: 1, parts: 3, fieldNameSize: 200, headerPairs: 20 },
    });
  } catch {
    return refuse(request, response, 400, 'BAD_USER_INPUT', 'The multipart request has no boundary.');
  }
  const parsed = new Promise<{ params: GraphQLParams; file?: BusboyFileStream }>((resolve, reject) => {
    let operations: GraphQLParams | undefined;
    let map: Record<string, string[]> | undefined;
    busboy.on('field', (name, value, _nameTruncated, valueTruncated) => {
      try {
        if (valueTruncated)
          throw new MultipartError(`The \`${name}\` part is larger than ${maxFieldBytes} bytes.`, 413, 'PAYLOAD_TOO_LARGE');
        if (name === 'operations' && operations === undefined) operations = parseJson(value, 'operations') as GraphQLParams;
        else if (name === 'map' && operations !== undefined && map === undefined) map = parseMap(value);
        else throw new MultipartError('Send the `operations` part first, then `map`, then the files.');
      } catch (error) {
        reject(error);
      }
    });
    busboy.on('file', (name, stream, filename, _encoding, mimeType) => {
      // Its reader hears its errors while it reads; one after the reader gave up (a client leaving late) must not crash the process.
      stream.on('error', () => undefined);
      if (!operations || !map) {
        stream.resume();
        return reject(new MultipartError('Send the `operations` part first, then `map`, then the files.'));
      }
      const paths = map[name];
      if (!paths) {
        stream.resume();
        return reject(new MultipartError(`The \`map\` part names no file \`${name}\`.`));
      }
      const file = new StreamedFile(stream, filename ?? '', mimeType === 'application/octet-stream' ? '' : (mimeType ?? ''));
      try {
        for (const at of paths) setAt(operations, at, file);
      } catch (error) {
        stream.resume();
        return reject(error);
      }
      resolve({ params: operations, file: stream });
    });
    busboy.on('filesLimit', () => reject(new MultipartError('Send one file per request.')));
    busboy.on('finish', () => {
      if (operations) resolve({ params: operations });
      else reject(new MultipartError('The multipart request has no `operations` part.'));
    });
    busboy.on('error', (error: unknown) => reject(new MultipartError(`The multipart request is malformed: ${(error as Error).message}`)));
  });
  let file: BusboyFileStream | undefined;
  // A client that goes away mid-file fails the file's reader, so nothing partial is kept.
  request.on('error', () => undefined);
  request.once('close', () => {
    if (!request.complete && file && !file.destroyed) file.destroy(new Error('The client closed the connection before the file ended.'));
  });
  request.pipe(busboy);
  let params: GraphQLParams;
  try {
    ({ params, file } = await parsed);
  } catch (error) {
    if (!(error instanceof MultipartError)) throw error;
    return refuse(request, response, error.status, error.code, error.message);
  }
  // The resolver gave up on the file (a limit crossed, a refusal): not one more byte is taken off the socket.
  let readAtHalt: number | undefined;
  file?.once('close', () => {
    if (file?.readableEnded) return;
    request.unpipe();
    request.pause();
    readAtHalt = request.socket.bytesRead - readBefore;
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined && name !== 'content-length' && name !== 'transfer-encoding') headers.set(name, String(value));
  }
  const result = await yoga.fetch(new Request(`http://localhost${request.url ?? '/'}`, { method: 'POST', headers }), {
    req: request,
    upload: params,
  } satisfies ServerContext);
  const body = await result.text();
  const tooLarge = /"code":"PAYLOAD_TOO_LARGE"/.test(body);
  const unread = file !== undefined && !file.readableEnded;
  const out: Record<string, string> = {};
  result.headers.forEach((value, name) => {
    if (name !== 'content-length') out[name] = value;
  });
  const status = tooLarge ? 413 : result.status;
  if (!unread) {
    response.writeHead(status, out);
    response.end(body);
    return;
  }
  logger.info(
    { bytesRead: readAtHalt ?? request.socket.bytesRead - readBefore, status },
    'answered a multipart request before its file ended',
  );
  answerAndClose(request, status, out, body);
}

/**
 * Answers on the socket itself and closes it, reading no more of the
 * request. Node's own response would either read the rest of the body (to
 * keep the connection) or destroy the connection at once, and closing on
 * unread data resets it, which can destroy the answer before the client reads
 * it. So: the answer, then our end of the connection (FIN), and only after a
 * moment (a lingering close, as web servers do) the rest, unread.
 */
function answerAndClose(request: IncomingMessage, status: number, headers: Record<string, string>, body: string): void {
  request.unpipe();
  request.pause();
  const lines = [`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`];
  for (const [name, value] of Object.entries(headers))
    if (name !== 'connection' && name !== 'transfer-encoding') lines.push(`${name}: ${value}`);
  lines.push(`content-length: ${Buffer.byteLength(body)}`, 'connection: close', `date: ${new Date().toUTCString()}`);
  const socket = request.socket;
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

function refuse(request: IncomingMessage, _response: ServerResponse, status: number, code: string, message: string): void {
  answerAndClose(
    request,
    status,
    { 'content-type': 'application/json; charset=utf-8' },
    JSON.stringify({ errors: [{ message, extensions: { code } }] }),
  );
}

function parseJson(value: string, part: string): unknown {
  try {
    const parsed: unknown = JSON.parse(value);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed;
  } catch {
    // refused below
  }
  throw new MultipartError(`The \`${part}\` part is not a JSON object${part === 'operations' ? ' (batches are not accepted)' : ''}.`);
}

function parseMap(value: string): Record<string, string[]> {
  const map = parseJson(value, 'map') as Record<string, unknown>;
  for (const paths of Object.values(map)) {
    if (!Array.isArray(paths) || !paths.every((path) => typeof path === 'string' && path.startsWith('variables.'))) {
      throw new MultipartError('Each entry of `map` lists paths into `variables`, such as `["variables.input.file"]`.');
    }
  }
  return map as Record<string, string[]>;
}

/** Puts `value` at a dotted path (`variables.input.file`) that must exist up to its last step. */
function setAt(target: object, path: string, value: unknown): void {
  const steps = path.split('.');
  const last = steps.pop() as string;
  let at: unknown = target;
  for (const step of steps) {
    if (step === '__proto__' || step === 'constructor' || step === 'prototype') at = undefined;
    at = typeof at === 'object' && at !== null ? (at as Record<string, unknown>)[step] : undefined;
  }
  if (typeof at !== 'object' || at === null || last === '__proto__' || last === 'constructor')
    throw new MultipartError(`The \`map\` path ${path} is not in \`operations\`.`);
  (at as Record<string, unknown>)[last] = value;
}
