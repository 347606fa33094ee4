import type { DynamoDBStreamEvent, ScheduledEvent } from 'aws-lambda';
import { stateMachineArnResolver } from '../api/context.js';
import { AdmissionStore } from '../repository/admission-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { createLogger, logged } from '../shared/logger.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { sfn } from '../shared/sfn.js';
import { admitDue, type AdmissionDeps } from './admission.js';
import { handleChanges } from './admission-changes.js';

const deps: AdmissionDeps = {
  store: new AdmissionStore(documentClient, repositoryOptions),
  sfn,
  logger: createLogger('admission'),
  stateMachineArn: stateMachineArnResolver(),
};

/**
 * Lambda entry of admission (docs/architecture.md, "Admission"): the table's stream (held records
 * inserted, records that ended while in admission: the mapping's filters pass nothing else), and the
 * schedule every minute (delayed executions that are due, and every tenant with limits). A thrown
 * error retries the stream batch (each step is a conditional write: a repeat changes nothing twice).
 */
export const handler = logged(
  () => ({}),
  async (event: DynamoDBStreamEvent | ScheduledEvent): Promise<void> => {
    if ('Records' in event) await handleChanges(deps, event.Records);
    else await admitDue(deps);
  },
);
