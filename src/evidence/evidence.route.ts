import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Viewer } from '../access/viewer.ts';
import type { Runtime } from '../module.ts';
import { parseRange } from './byte-range.ts';
import { attachment } from './display-name.ts';

/** Who follows the link: the identity a signed link carries (checked again now), or a bearer header's. */
async function viewerOf(request: IncomingMessage, evidenceId: string, runtime: Runtime): Promise<Viewer | null> {
  const token = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  if (token) {
    try {
      const identity = await runtime.accessTokens.verifyLink(token, `evidence:${evidenceId}`);
      return runtime.authenticator.viewerOf(await runtime.authenticator.recheck(identity));
    } catch {
      return null;
    }
  }
  const viewer = await runtime.authenticator.authenticate(request.headers.authorization);
  return viewer.isAuthenticated ? viewer : null;
}

function answer(response: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  response.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

/**
 * `GET /evidence/<id>` (`localId`: the global ID's, if it is one): the file as stored, with its detected type, as an
 * attachment no browser sniffs or renders in the API's origin, whole or one
 * byte range. Unknown, deleted and foreign evidence all answer the same 404.
 */
export async function serveDownload(
  request: IncomingMessage,
  response: ServerResponse,
  { localId, ip }: { localId: string | undefined; ip: string | null },
  runtime: Runtime,
): Promise<void> {
  const viewer = await viewerOf(request, localId ?? '', runtime);
  if (!viewer) {
    return answer(response, 401, 'UNAUTHENTICATED', 'Send `Authorization: Bearer <token>`, or follow a link from `Evidence.url`.', {
      'www-authenticate': 'Bearer',
    });
  }
  const downloads = runtime.services(runtime.request(viewer, undefined, ip)).evidenceDownloads;
  const evidence = localId ? await downloads.find(localId) : null;
  if (!evidence) return answer(response, 404, 'NOT_FOUND', 'No evidence with this ID.');
  const range = parseRange(request.headers.range, evidence.size);
  const headers: Record<string, string> = {
    'content-type': evidence.contentType,
    'content-disposition': attachment(evidence.filename),
    'x-content-type-options': 'nosniff',
    // Even opened in a tab, the content runs nothing in the API's origin.
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-store',
    etag: `"${evidence.sha256}"`,
    'accept-ranges': 'bytes',
  };
  if (range === null) {
    return answer(response, 416, 'RANGE_NOT_SATISFIABLE', `The file has ${evidence.size} bytes.`, {
      'content-range': `bytes */${evidence.size}`,
    });
  }
  const content = await downloads.open(evidence, range);
  if (range) {
    headers['content-range'] = `bytes ${range.start}-${range.end}/${evidence.size}`;
    headers['content-length'] = String(range.end - range.start + 1);
    response.writeHead(206, headers);
  } else {
    headers['content-length'] = String(evidence.size);
    response.writeHead(200, headers);
  }
  await pipeline(content, response).catch(() => response.destroy());
}
