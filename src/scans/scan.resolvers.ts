import { map, pipe } from 'graphql-yoga';
import { connectionResolvers } from '../graphql/connection.ts';
import type { Resolvers } from '../graphql/generated/types.ts';
import { localIdOrNone, toGlobalId } from '../graphql/global-id.ts';
import { scanView } from './scan.view.ts';
import { wellKnownService } from './well-known-ports.ts';

/**
 * The local ID to act on. An ID that names no scan goes to the service like
 * any other, which checks the caller first and then finds nothing: NOT_FOUND.
 */
const scanIdOf = (id: string): string => localIdOrNone(id, 'Scan');

const ORDER_FIELDS = { CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt' } as const;

export const scanResolvers = {
  Query: {
    scan: (_, { id }, { services }) => services.scans.get(scanIdOf(id)),
    scans: (_, { orderBy, ...args }, { services }) =>
      services.scans.list({ ...args, orderBy: orderBy && { field: ORDER_FIELDS[orderBy.field], direction: orderBy.direction } }),
  },
  Mutation: {
    createScan: async (_, { input }, { services }) => ({ scan: scanView(await services.scanCommands.create(input)) }),
    startScan: async (_, { input }, { services }) => ({ scan: scanView(await services.scanCommands.start(scanIdOf(input.id))) }),
    cancelScan: async (_, { input }, { services }) => ({ scan: scanView(await services.scanCommands.cancel(scanIdOf(input.id))) }),
    deleteScan: async (_, { input }, { services }) => ({
      deletedScanId: toGlobalId('Scan', await services.scanCommands.delete(scanIdOf(input.id))),
    }),
  },
  Subscription: {
    scanUpdated: {
      subscribe: (_, __, { services }) =>
        pipe(
          services.scanFeed.watch(),
          map((scan) => ({ scanUpdated: scan })),
        ),
    },
    scanProgress: {
      subscribe: (_, { scanId }, { services }) =>
        pipe(
          services.scanFeed.watchProgress(scanIdOf(scanId)),
          map((progress) => ({ scanProgress: progress })),
        ),
    },
    scanEvents: {
      subscribe: (_, { scanId }, { services }) =>
        pipe(
          services.scanFeed.watchEvents(scanIdOf(scanId)),
          map((event) => ({ scanEvents: event })),
        ),
    },
  },
  Scan: {
    id: (scan) => toGlobalId('Scan', scan.id),
    owner: (scan, _, { services }) => (scan.ownerId ? services.users.get(scan.ownerId) : null),
    progress: (scan, _, { services }) => services.scans.progress(scan),
    results: (scan, args, { services }) => services.scans.results({ scanId: scan.id }, args),
    hosts: (scan, args, { services }) => services.scans.hosts(scan.id, args),
    summary: (scan, _, { services }) => services.scans.summary(scan),
  },
  ScanResult: {
    service: (result) => result.service ?? wellKnownService(result.port, result.protocol),
  },
  ScanHost: {
    results: (host, args, { services }) => services.scans.results({ scanId: host.scanId, address: host.address }, args),
  },
  ScanEvent: {
    __resolveType: (event) => event.type,
  },
  PortFound: { scanId: (event) => toGlobalId('Scan', event.scanId) },
  HostStateChanged: { scanId: (event) => toGlobalId('Scan', event.scanId) },
  ScanStatusChanged: { scanId: (event) => toGlobalId('Scan', event.scanId) },
  ScanResultConnection: connectionResolvers,
  ScanHostConnection: connectionResolvers,
  ScanConnection: connectionResolvers,
} satisfies Resolvers;
