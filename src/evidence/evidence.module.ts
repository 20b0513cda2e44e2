import { AuditLog } from '../audit/audit-log.ts';
import { clientAddress } from '../graphql/client-address.ts';
import { localIdOf } from '../graphql/global-id.ts';
import type { AreaModule, RequestScope, Route, Runtime } from '../module.ts';
import { ScanReads } from '../scans/scan.reads.ts';
import { EvidenceCommands } from './evidence.commands.ts';
import { EvidenceDownloads } from './evidence.downloads.ts';
import { EvidenceSchema } from './evidence.entity.ts';
import { EvidenceLoaders } from './evidence.loaders.ts';
import { EvidenceQueries } from './evidence.queries.ts';
import { EvidenceReads } from './evidence.reads.ts';
import { evidenceResolvers } from './evidence.resolvers.ts';
import { serveDownload } from './evidence.route.ts';
import { isEvidenceView } from './evidence.view.ts';
import { InFlight, sweepBlobs } from './evidence-blobs.ts';
import { EvidenceFiles } from './evidence-files.ts';
import { configuredFileStore, type FileStoreFactory, FileStores } from './evidence-store.ts';
import { EvidenceBlobs } from './migrations/20261203000000-evidence-blobs.ts';
import { CreateEvidence } from './migrations/20261203100000-evidence.ts';
import { EvidenceBlobSchema, EvidenceChunkSchema } from './store/postgres-store.schema.ts';

declare module '../module.ts' {
  interface Services {
    /** Reads: one record, a scan's page of them, download links. */
    evidence: EvidenceQueries;
    /** Changes: upload, delete. */
    evidenceCommands: EvidenceCommands;
    /** What the download route reads. */
    evidenceDownloads: EvidenceDownloads;
    /** Content for other areas' jobs (a capture's replay). */
    evidenceFiles: EvidenceFiles;
  }
}

declare module '../access/viewer.ts' {
  interface Permissions {
    'evidence:read': true;
    'evidence:write': true;
  }
}

declare module '../audit/audit-event.entity.ts' {
  interface AuditActions {
    EVIDENCE_UPLOADED: true;
    EVIDENCE_DELETED: true;
    EVIDENCE_DOWNLOADED: true;
  }
}

/** `GET /evidence/<global ID>`, with a bearer header or a signed link's `token`. */
const downloadRoute: Route = {
  method: 'GET',
  path: /^\/evidence\/(?<id>[A-Za-z0-9_-]{1,200})$/,
  handle: (request, response, { id = '' }, runtime) =>
    serveDownload(
      request,
      response,
      { localId: localIdOf(id, 'Evidence'), ip: clientAddress(request, runtime.config.graphql.trustedProxyHops) },
      runtime,
    ),
};

/**
 * Evidence: files kept with scans, typed by content, streamed into a
 * content-addressed `FileStore` that `store` makes (by default the one
 * `EVIDENCE_STORE` names). Deleting a scan deletes its records through the
 * foreign key's cascade, so the scans area knows nothing of evidence; the
 * blobs nobody references any more go in the sweep, on start and every
 * `EVIDENCE_SWEEP_SECONDS`.
 */
export function createEvidenceModule(store: FileStoreFactory = configuredFileStore) {
  const stores = new FileStores(store);
  const sweeps = new WeakMap<Runtime, NodeJS.Timeout>();
  // Per app, like the store: one process's uploads between their put and their record.
  const inFlight = new WeakMap<Runtime['config'], InFlight>();
  const inFlightOf = (config: Runtime['config']) => {
    let found = inFlight.get(config);
    if (!found) {
      found = new InFlight();
      inFlight.set(config, found);
    }
    return found;
  };
  const sweep = async (runtime: Runtime) => {
    const em = runtime.orm.em.fork();
    await sweepBlobs(em, await stores.of({ config: runtime.config, em }), runtime.logger, inFlightOf(runtime.config)).catch(
      (error: unknown) => runtime.logger.error({ err: error }, 'could not sweep evidence blobs'),
    );
  };
  return {
    name: 'evidence',
    entities: [EvidenceSchema, EvidenceBlobSchema, EvidenceChunkSchema],
    migrations: [
      { name: '20261203000000-evidence-blobs', class: EvidenceBlobs },
      { name: '20261203100000-evidence', class: CreateEvidence },
    ],
    resolvers: [evidenceResolvers],
    nodes: { Evidence: { load: (services, id) => services.evidence.get(id), is: isEvidenceView } },
    // Evidence shares its scan's access: VIEWER reads and downloads all; ANALYST acts on their own scans'; ADMIN on all.
    grants: {
      ADMIN: { 'evidence:read': 'all', 'evidence:write': 'all' },
      ANALYST: { 'evidence:read': 'own', 'evidence:write': 'own' },
      VIEWER: { 'evidence:read': 'all' },
    },
    auditActions: ['EVIDENCE_UPLOADED', 'EVIDENCE_DELETED', 'EVIDENCE_DOWNLOADED'],
    routes: [downloadRoute],
    async start(runtime) {
      await sweep(runtime);
      const timer = setInterval(() => void sweep(runtime), runtime.config.evidence.sweepSeconds * 1000);
      timer.unref();
      sweeps.set(runtime, timer);
    },
    async stop(runtime) {
      clearInterval(sweeps.get(runtime));
      await stores.close(runtime.config);
    },
    services: (scope: RequestScope) => {
      const reads = new EvidenceReads(scope.reads);
      const loaders = new EvidenceLoaders(reads);
      const audit = new AuditLog(scope);
      const fileStore = () => stores.of({ config: scope.config, em: scope.em });
      return {
        evidence: new EvidenceQueries({ reads, loaders, viewer: scope.viewer, accessTokens: scope.accessTokens }),
        evidenceCommands: new EvidenceCommands({
          em: scope.em,
          viewer: scope.viewer,
          audit,
          clock: scope.clock,
          limits: scope.config.evidence,
          scans: new ScanReads(scope.reads),
          reads,
          loaders,
          store: fileStore,
          inFlight: inFlightOf(scope.config),
        }),
        evidenceDownloads: new EvidenceDownloads({ viewer: scope.viewer, loaders, audit, store: fileStore }),
        evidenceFiles: new EvidenceFiles({ reads, store: fileStore, em: scope.em, clock: scope.clock, inFlight: inFlightOf(scope.config) }),
      };
    },
  } satisfies AreaModule;
}

export const evidenceModule = createEvidenceModule();
