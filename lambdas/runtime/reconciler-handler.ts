import type { Context, ScheduledEvent } from 'aws-lambda';
import { stateMachineArnResolver } from '../api/context.js';
import { AdmissionStore } from '../repository/admission-store.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { ReconcileStore } from '../repository/reconcile-store.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { intEnv } from '../shared/env.js';
import { createLogger, logged } from '../shared/logger.js';
import { putMetrics } from '../shared/metrics.js';
import { sfn } from '../shared/sfn.js';
import { reconcile, type ReconcileOptions, type ReconcileSummary } from './reconciler.js';

const logger = createLogger('reconciler');
// The reconciler's own store: records, their family and the scan of active ones, without the lists.
const repository = new ReconcileStore(documentClient, repositoryOptions);
const admission = { store: new AdmissionStore(documentClient, repositoryOptions), sfn, logger, stateMachineArn: stateMachineArnResolver() };
const options: ReconcileOptions = {
  minAgeMs: intEnv('RECONCILE_MIN_AGE_SECONDS', 60) * 1000,
  startGraceMs: intEnv('RECONCILE_START_GRACE_SECONDS', 300) * 1000,
  maxChecks: intEnv('RECONCILE_MAX_CHECKS', 400),
};

/**
 * Lambda entry of the reconciler's schedule. Heals what it can, then fails the invocation when
 * some check failed, so the function's Errors metric (and its alarm) report it.
 */
export const handler = logged(
  () => ({}),
  async (_event: ScheduledEvent, context: Context): Promise<ReconcileSummary> => {
    const summary = await reconcile({ repository, sfn, logger, admission, remainingMs: () => context.getRemainingTimeInMillis() }, options);
    if (summary.checked > 0 || summary.errors > 0 || summary.slotsRepaired > 0) {
      putMetrics(
        {
          ExecutionsChecked: summary.checked,
          ExecutionsHealed: summary.healed,
          ExecutionsFailedMissing: summary.failedMissing,
          FollowUpsSettled: summary.settled,
          HeldExecutions: summary.held,
          SlotsRepaired: summary.slotsRepaired,
          ReconcileErrors: summary.errors,
        },
        { FunctionName: context.functionName },
      );
    }
    if (summary.errors > 0) throw new Error(`${summary.errors} reconciler checks failed; see the log`);
    return summary;
  },
);
