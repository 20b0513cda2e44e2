import type { EventBus } from '../../module.ts';
import type { CaptureRecord } from './capture.topics.ts';
import type { CaptureView } from './capture.view.ts';

export function captureRecordOf(view: CaptureView): CaptureRecord {
  return {
    ...view,
    createdAt: view.createdAt.toISOString(),
    startedAt: view.startedAt?.toISOString() ?? null,
    endedAt: view.endedAt?.toISOString() ?? null,
  };
}

/** Tells subscribers of `captureUpdated` that a capture was created or changed, as it is now; after commit. */
export async function publishCaptureUpdated(events: EventBus, view: CaptureView): Promise<void> {
  await events.publish('captureUpdated', {
    captureId: view.id,
    status: view.status,
    at: new Date().toISOString(),
    capture: captureRecordOf(view),
  });
}
