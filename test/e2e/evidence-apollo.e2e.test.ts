import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ApolloClient, gql, InMemoryCache } from '@apollo/client';
import UploadHttpLink from 'apollo-upload-client/UploadHttpLink.mjs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createScan, download, SAMPLES } from '../helpers/evidence.ts';
import { type ServerProcess, startServer } from '../helpers/server.ts';

let server: ServerProcess;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'scanops-apollo-'));
  server = await startServer({ env: { EVIDENCE_DIR: dir } });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

const UPLOAD = gql`
  mutation Upload($input: UploadEvidenceInput!) {
    uploadEvidence(input: $input) {
      evidence {
        id
        filename
        contentType
        size
        url
      }
    }
  }
`;

it('uploads a file with Apollo Client and apollo-upload-client, given the preflight header it does not send by default', async () => {
  const scanId = await createScan(server);
  const client = new ApolloClient({
    cache: new InMemoryCache(),
    link: new UploadHttpLink({
      uri: server.url,
      headers: { authorization: `Bearer ${server.adminToken}`, 'apollo-require-preflight': 'true' },
    }),
  });
  const file = new File([SAMPLES.jpeg], 'apollo.jpg', { type: 'image/jpeg' });
  const { data } = await client.mutate<{
    uploadEvidence: { evidence: { id: string; filename: string; contentType: string; size: number; url: string } };
  }>({ mutation: UPLOAD, variables: { input: { scanId, file, description: 'from Apollo' } } });
  expect(data?.uploadEvidence.evidence).toMatchObject({ filename: 'apollo.jpg', contentType: 'image/jpeg', size: SAMPLES.jpeg.length });
  const response = await download(server, data?.uploadEvidence.evidence.url ?? '');
  expect(Buffer.from(await response.arrayBuffer()).equals(SAMPLES.jpeg)).toBe(true);

  // Without the header, CSRF prevention refuses the multipart request before reading it.
  const bare = new ApolloClient({
    cache: new InMemoryCache(),
    link: new UploadHttpLink({ uri: server.url, headers: { authorization: `Bearer ${server.adminToken}` } }),
  });
  await expect(bare.mutate({ mutation: UPLOAD, variables: { input: { scanId, file } } })).rejects.toThrow(/403|CSRF|preflight/i);
});
