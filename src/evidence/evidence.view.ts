/** Evidence as the API shows it: a plain row, never tracked by the EntityManager. */
export type EvidenceView = {
  id: string;
  scanId: string;
  sha256: string;
  size: number;
  contentType: string;
  filename: string;
  description: string | null;
  uploadedById: string | null;
  createdAt: Date;
};

export const EVIDENCE_COLUMNS = 'id, scan_id, sha256, size, content_type, filename, description, uploaded_by_id, created_at';

export type EvidenceRow = {
  id: string;
  scan_id: string;
  sha256: string;
  size: string | number;
  content_type: string;
  filename: string;
  description: string | null;
  uploaded_by_id: string | null;
  created_at: Date;
};

export const evidenceViewOfRow = (row: EvidenceRow): EvidenceView => ({
  id: row.id,
  scanId: row.scan_id,
  sha256: row.sha256,
  size: Number(row.size),
  contentType: row.content_type,
  filename: row.filename,
  description: row.description,
  uploadedById: row.uploaded_by_id,
  createdAt: row.created_at,
});

/** Tells evidence among the other nodes, for `Node.__resolveType`. */
export const isEvidenceView = (value: unknown): value is EvidenceView =>
  typeof value === 'object' && value !== null && 'sha256' in value && 'scanId' in value;
