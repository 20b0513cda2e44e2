import { type UploadFile, type UploadResult, upload } from './multipart.ts';
import type { ServerProcess, TestUser } from './server.ts';

export const UPLOAD = `mutation($input: UploadEvidenceInput!) {
  uploadEvidence(input: $input) { evidence { id filename contentType size sha256 description url uploadedBy { email } scan { id } } }
}`;

export type UploadedEvidence = {
  id: string;
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  description: string | null;
  url: string;
};

/** Just enough of each allowed type for its signature, then some bytes. */
export const SAMPLES = {
  png: Buffer.concat([Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex'), Buffer.alloc(200, 1)]),
  jpeg: Buffer.concat([Buffer.from('ffd8ffe000104a46494600010100000100010000', 'hex'), Buffer.alloc(200, 2)]),
  pdf: Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n', 'latin1'),
  pcapMicroBig: pcap('a1b2c3d4'),
  pcapMicroLittle: pcap('d4c3b2a1'),
  pcapNanoBig: pcap('a1b23c4d'),
  pcapNanoLittle: pcap('4d3cb2a1'),
  pcapng: Buffer.concat([Buffer.from('0a0d0d0a1c0000004d3c2b1a01000000ffffffffffffffff1c000000', 'hex'), Buffer.alloc(64, 3)]),
};

function pcap(magic: string): Buffer {
  // The global header: magic, version 2.4, zone, sigfigs, snaplen 65535, linktype 1 (Ethernet); then one empty record header.
  const header = Buffer.from(`${magic}00020004000000000000000000ffff0000000001`, 'hex');
  return Buffer.concat([header, Buffer.alloc(16, 0)]);
}

/** Bearer and CSRF headers of `user` (or `token`). */
export const uploadHeaders = (token: string) => ({ authorization: `Bearer ${token}`, 'x-graphql-yoga-csrf': '1' });

export function uploadTo(server: ServerProcess, scanId: string, file: UploadFile, headers: Record<string, string>, description?: string) {
  return upload(server.url, { query: UPLOAD, variables: { input: { scanId, file: null, description } }, file, headers });
}

/** Uploads as `user` (the admin by default) and returns the evidence; throws with the answer if that fails. */
export async function uploaded(server: ServerProcess, scanId: string, file: UploadFile, user?: TestUser): Promise<UploadedEvidence> {
  const result: UploadResult = await uploadTo(server, scanId, file, uploadHeaders(user?.token ?? server.adminToken));
  const evidence = (result.body?.data?.uploadEvidence as { evidence: UploadedEvidence } | undefined)?.evidence;
  if (!evidence) throw new Error(`upload failed (${result.status}): ${JSON.stringify(result.body)}`);
  return evidence;
}

export async function createScan(server: ServerProcess, user?: TestUser): Promise<string> {
  const { body } = await server.graphql<{ createScan: { scan: { id: string } } }>(
    'mutation { createScan(input: { targets: ["127.0.0.1"], ports: "1" }) { scan { id } } }',
    undefined,
    user?.headers,
  );
  if (!body.data) throw new Error(JSON.stringify(body.errors));
  return body.data.createScan.scan.id;
}

export function download(server: ServerProcess, path: string, headers: Record<string, string> = {}) {
  return fetch(new URL(path, server.url), { headers });
}
