export const ScanStatus = {
  PENDING: 'PENDING',
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type ScanStatus = (typeof ScanStatus)[keyof typeof ScanStatus];
export const SCAN_STATUSES = Object.values(ScanStatus);

export const ScanType = {
  CONNECT: 'CONNECT',
  SYN: 'SYN',
  UDP: 'UDP',
  VERSION: 'VERSION',
} as const;
export type ScanType = (typeof ScanType)[keyof typeof ScanType];
export const SCAN_TYPES = Object.values(ScanType);

/**
 * The legal moves of a scan's life: PENDING → QUEUED → RUNNING → COMPLETED |
 * FAILED | CANCELLED. A scan can be cancelled or fail before it runs; the three
 * end states are final.
 */
const TRANSITIONS: Record<ScanStatus, readonly ScanStatus[]> = {
  PENDING: ['QUEUED', 'CANCELLED'],
  QUEUED: ['RUNNING', 'FAILED', 'CANCELLED'],
  RUNNING: ['COMPLETED', 'FAILED', 'CANCELLED'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

export function canTransition(from: ScanStatus, to: ScanStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isFinished(status: ScanStatus): boolean {
  return TRANSITIONS[status].length === 0;
}
