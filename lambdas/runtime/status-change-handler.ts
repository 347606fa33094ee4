import type { EventBridgeEvent } from 'aws-lambda';
import { familyStore } from '../shared/stores.js';
import { createLogger, logged } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { applyStatusChange, type StatusChangeDetail } from './status-change.js';

const repository = familyStore();
const deps = { repository, sfn, logger: createLogger('status-change') };

/**
 * Lambda entry of the EventBridge rule on "Step Functions Execution Status Change". A thrown error
 * makes Lambda retry the event, then send it to the dead-letter queue (the reconciler heals the record).
 */
export const handler = logged(
  (event: EventBridgeEvent<'Step Functions Execution Status Change', StatusChangeDetail>) => ({ execution_id: event.detail.name }),
  async (event): Promise<void> => {
    await applyStatusChange(deps, event.detail);
  },
);
