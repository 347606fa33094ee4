import { GetCommand, QueryCommand, UpdateCommand, type QueryCommandInput, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { invalidCursor } from '../domain/cursor.js';
import { dependencyUnavailable } from '../domain/errors.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { isDependencyUnavailable } from '../shared/dependency-errors.js';
import { ExecutionStore } from './execution-store.js';
import { fromRowItem } from './items.js';
import { META_SK, TRANSITION_PREFIX, executionPk, markerSk, transitionSk } from './keys.js';

/**
 * What the step and wait functions need besides status changes: progress within a step, wait
 * tokens, and the output a step already recorded.
 */
export class RuntimeStore extends ExecutionStore {
  /**
   * Records how far the current step is (not a status change, so no transition row).
   * Ignored when the execution has moved on.
   */
  async updateProgress(
    record: Pick<ExecutionRecord, 'tenant' | 'id'>,
    stepIndex: number,
    fraction: number,
    message: string | undefined,
    now: string,
  ): Promise<boolean> {
    return this.updateRecordIf(record, {
      UpdateExpression:
        message === undefined
          ? 'SET step_fraction = :f, updated_at = :now REMOVE progress_message'
          : 'SET step_fraction = :f, updated_at = :now, progress_message = :m',
      ConditionExpression: '#status = :running AND step_index = :i',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':f': fraction,
        ':now': now,
        ':running': 'running',
        ':i': stepIndex,
        ...(message === undefined ? {} : { ':m': message }),
      },
    });
  }

  /**
   * Swaps the stored task token of a wait that Step Functions invoked again (a new token for the
   * same wait). Not a status change, so no row; ignored when the execution is no longer waiting there.
   */
  async replaceWaitToken(
    record: Pick<ExecutionRecord, 'tenant' | 'id'>,
    stepIndex: number,
    token: string,
  ): Promise<boolean> {
    return this.updateRecordIf(record, {
      UpdateExpression: 'SET wait_token = :token',
      ConditionExpression: '#status = :waiting AND step_index = :i',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':token': token, ':waiting': 'awaiting_input', ':i': stepIndex },
    });
  }

  /** Updates a record when `ConditionExpression` holds; false (not an error) when it no longer does. */
  protected async updateRecordIf(
    record: Pick<ExecutionRecord, 'tenant' | 'id'>,
    update: Omit<UpdateCommandInput, 'TableName' | 'Key'>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({ ...update, TableName: this.table, Key: { pk: executionPk(record.tenant, record.id), sk: META_SK } }),
      );
      return true;
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }

  /** The `step` row that recorded step `stepIndex`, if one did (newest first: it is near the end). */
  async findStepRow(tenant: string, executionId: string, stepIndex: number): Promise<TransitionRecord | undefined> {
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.query(
        {
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          // Top-level rows only: a nested step's row carries its scope and an index within it.
          FilterExpression: '#type = :step AND #step.#index = :index AND attribute_not_exists(#scope)',
          ExpressionAttributeNames: { '#type': 'type', '#step': 'step', '#index': 'index', '#scope': 'scope' },
          ExpressionAttributeValues: {
            ':pk': executionPk(tenant, executionId),
            ':prefix': TRANSITION_PREFIX,
            ':step': 'step',
            ':index': stepIndex,
          },
          ScanIndexForward: false,
          ConsistentRead: true,
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        },
        false,
      );
      const item = result.Items?.[0];
      if (item) return fromRowItem(item);
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return undefined;
  }

  /** The row a change recorded once wrote (see `TransitionRequest.marker`), if it was recorded. */
  async findMarkedRow(tenant: string, executionId: string, marker: string): Promise<TransitionRecord | undefined> {
    const pk = executionPk(tenant, executionId);
    const { Item: mark } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk: markerSk(marker) }, ConsistentRead: true }),
    );
    if (typeof mark?.seq !== 'number') return undefined;
    const { Item: row } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk: transitionSk(mark.seq) }, ConsistentRead: true }),
    );
    return row ? fromRowItem(row) : undefined;
  }

  protected async query(input: QueryCommandInput, fromCursor: boolean) {
    try {
      return await this.client.send(new QueryCommand(input));
    } catch (error) {
      // A signed cursor whose key still does not fit this query's key schema.
      if (fromCursor && error instanceof Error && error.name === 'ValidationException') throw invalidCursor();
      if (isDependencyUnavailable(error)) throw dependencyUnavailable();
      throw error;
    }
  }

}
