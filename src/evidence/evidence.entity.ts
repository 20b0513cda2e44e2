import { defineEntity, p } from '@mikro-orm/core';

const EvidenceSchema = defineEntity({
  name: 'Evidence',
  tableName: 'evidence',
  properties: {
    id: p.uuid().primary(),
    /** A plain key, not a relation: the scans area knows nothing of evidence; the foreign key cascades deletes. */
    scanId: p.uuid(),
    /** The content's name in the `FileStore`: several records may share one. */
    sha256: p.text(),
    size: p.bigint('number'),
    contentType: p.text(),
    /** As the client gave it, for display only. */
    filename: p.text(),
    description: p.text().nullable(),
    uploadedById: p.uuid().nullable(),
    createdAt: p.datetime(3),
  },
});

/** A file kept with a scan: who sent which content, when, for which scan. The content lives in the `FileStore`. */
export class Evidence extends EvidenceSchema.class {}

EvidenceSchema.setClass(Evidence);

export { EvidenceSchema };
