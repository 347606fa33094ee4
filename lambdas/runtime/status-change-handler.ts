import type { EventBridgeEvent } from 'aws-lambda';
import { repository } from '../shared/dynamodb.js';
import { createLogger } from '../shared/logger.js';
import { sfn } from '../shared/sfn.js';
import { applyStatusChange, type StatusChangeDetail } from './status-change.js';

const deps = { repository, sfn, logger: createLogger('status-change') };

/** Lambda entry of the EventBridge rule on "Step Functions Execution Status Change". */
export const handler = (event: EventBridgeEvent<'Step Functions Execution Status Change', StatusChangeDetail>) =>
  applyStatusChange(deps, event.detail);
