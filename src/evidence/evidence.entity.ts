import { defineEntity, p } from '@mikro-orm/core';
import { Scan } from '../scans/scan.entity.ts';
import { User } from '../users/user.entity.ts';

const EvidenceSchema = defineEntity({
  name: 'Evidence',
  tableName: 'evidence',
  properties: {
    id: p.uuid().primary(),
    /** Deleting the scan deletes its evidence (the scans area knows nothing of it); the sweep then removes the blobs. */
    scan: () => p.manyToOne(Scan).deleteRule('cascade'),
    /** The content's name in the `FileStore`: several records may share one. */
    sha256: p.text(),
    size: p.bigint('number'),
    contentType: p.text(),
    /** As the client gave it, for display only. */
    filename: p.text(),
    description: p.text().nullable(),
    uploadedBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    createdAt: p.datetime(3),
  },
  indexes: [{ properties: ['scan', 'createdAt', 'id'] }, { properties: ['sha256'] }, { properties: ['uploadedBy'] }],
});

/** A file kept with a scan: who sent which content, when, for which scan. The content lives in the `FileStore`. */
export class Evidence extends EvidenceSchema.class {}

EvidenceSchema.setClass(Evidence);

export { EvidenceSchema };
