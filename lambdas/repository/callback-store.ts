import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { CallbackLookup } from '../domain/callbacks.js';
import { ExecutionStore } from './execution-store.js';
import { CALLBACK_SK, callbackPk } from './keys.js';

/** The control function's store: the write core, plus finding the wait a resume link leads to. */
export class CallbackStore extends ExecutionStore {
  /**
   * The wait a resume link's token leads to, found by the token's hash; undefined when there is no
   * such item (TTL removes an expired one late: the caller checks `expiresAt`).
   */
  async findCallback(hash: string): Promise<CallbackLookup | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: { pk: callbackPk(hash), sk: CALLBACK_SK }, ConsistentRead: true }),
    );
    return Item && {
      tenant: Item.tenant as string,
      executionId: Item.execution_id as string,
      stepIndex: Item.step_index as number,
      nonce: Item.nonce as string,
      expiresAt: Item.expires_at as number,
    };
  }
}
