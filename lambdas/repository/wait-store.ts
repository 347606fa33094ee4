import type { CallbackLookup } from '../domain/callbacks.js';
import type { ExecutionRecord } from '../domain/execution.js';
import type { PlannedTransition } from '../domain/transition.js';
import { CALLBACK_SK, META_SK, callbackPk, executionPk } from './keys.js';
import { RuntimeStore } from './runtime-store.js';

/** A resume link's lookup item to write: where it leads, keyed by its token's hash. */
export type CallbackWrite = CallbackLookup & { readonly hash: string };

/** The stored lookup item of a resume link (its TTL, `expires_at`, is when the link expires). */
export function callbackItem(link: CallbackWrite): Record<string, unknown> {
  return {
    pk: callbackPk(link.hash),
    sk: CALLBACK_SK,
    tenant: link.tenant,
    execution_id: link.executionId,
    step_index: link.stepIndex,
    nonce: link.nonce,
    expires_at: link.expiresAt,
  };
}

/**
 * The wait function's store: the runtime store, plus the lookup items of resume links, which only
 * waits write (so no other function's bundle carries this code; the step functions' are at their
 * size budget).
 */
export class WaitStore extends RuntimeStore {
  /** A `wait` that creates its resume link writes the link's lookup item in the same transaction. */
  override applyTransition(before: ExecutionRecord, planned: PlannedTransition): Promise<ExecutionRecord> {
    const link = planned.callback;
    // Conditioned on not existing: a link is never written over another (256-bit hashes do not collide).
    const put = link && { Put: { TableName: this.table, Item: callbackItem(link), ConditionExpression: 'attribute_not_exists(pk)' } };
    return super.applyTransition(before, planned, put && [put]);
  }

  /**
   * {@link RuntimeStore.replaceWaitToken}, and with `link` the wait's resume link (the same link:
   * its nonce is the record's) written again in the same transaction with the new attempt's
   * expiry, since a retried wait starts its timeout afresh.
   */
  override async replaceWaitToken(record: Pick<ExecutionRecord, 'tenant' | 'id'>, stepIndex: number, token: string, link?: CallbackWrite): Promise<boolean> {
    if (!link) return super.replaceWaitToken(record, stepIndex, token);
    return this.transact(
      [
        {
          Update: {
            TableName: this.table,
            Key: { pk: executionPk(record.tenant, record.id), sk: META_SK },
            UpdateExpression: 'SET wait_token = :token',
            ConditionExpression: '#status = :waiting AND step_index = :i',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':token': token, ':waiting': 'awaiting_input', ':i': stepIndex },
          },
        },
        { Put: { TableName: this.table, Item: callbackItem(link) } },
      ],
      // The record moved on (resumed, cancelled): nothing to replace, and no link to refresh.
      (codes) => (codes?.[0] === 'ConditionalCheckFailed' ? 'settled' : undefined),
    );
  }
}
