import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOrNone, toGlobalId } from '../graphql/global-id.ts';

export const evidenceResolvers = {
  Mutation: {
    uploadEvidence: async (_, { input }, { services }) => ({
      evidence: await services.evidenceCommands.upload({ ...input, scanId: localIdOrNone(input.scanId, 'Scan') }),
    }),
    deleteEvidence: async (_, { input }, { services }) => ({
      deletedEvidenceId: toGlobalId('Evidence', await services.evidenceCommands.delete(localIdOrNone(input.id, 'Evidence'))),
    }),
  },
  Scan: {
    evidence: (scan, args, { services }) => services.evidence.ofScan(scan.id, args),
  },
  Evidence: {
    id: (evidence) => toGlobalId('Evidence', evidence.id),
    scan: async (evidence, _, { services }) => {
      const scan = await services.scans.get(evidence.scanId);
      if (!scan) throw new Error('The scan of a visible evidence is not visible.');
      return scan;
    },
    uploadedBy: (evidence, _, { services }) => (evidence.uploadedById ? services.users.get(evidence.uploadedById) : null),
    url: async (evidence, _, { services }) =>
      `/evidence/${toGlobalId('Evidence', evidence.id)}?token=${await services.evidence.linkToken(evidence)}`,
  },
  EvidenceConnection: {
    totalCount: (connection) => connection.totalCount(),
  },
} satisfies Resolvers;
