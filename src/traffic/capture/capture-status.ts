export const CaptureStatus = {
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  STOPPED: 'STOPPED',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
} as const;
export type CaptureStatus = (typeof CaptureStatus)[keyof typeof CaptureStatus];
export const CAPTURE_STATUSES = Object.values(CaptureStatus);

/** QUEUED → RUNNING → STOPPED | COMPLETED | FAILED; a capture may be stopped or fail before it runs. The end states are final. */
const TRANSITIONS: Record<CaptureStatus, readonly CaptureStatus[]> = {
  QUEUED: ['RUNNING', 'STOPPED', 'FAILED'],
  RUNNING: ['STOPPED', 'COMPLETED', 'FAILED'],
  STOPPED: [],
  COMPLETED: [],
  FAILED: [],
};

export function canTransition(from: CaptureStatus, to: CaptureStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export function isEnded(status: CaptureStatus): boolean {
  return TRANSITIONS[status].length === 0;
}
