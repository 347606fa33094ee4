import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { isTerminal, type ExecutionStatus } from '../domain/status.js';
import { ADMISSION_INDEX, META_SK } from '../repository/keys.js';
import { admitTenant, type AdmissionDeps } from './admission.js';

// The admission function's stream side, apart from admission.ts: the reconciler bundles that, and
// not the stream's unmarshalling.

/** A table stream record of an execution record, as admission reads it. */
interface Change {
  readonly tenant: string;
  readonly id: string;
  readonly status: ExecutionStatus;
  readonly held: boolean;
  readonly stage?: string;
}

function changeOf(record: DynamoDBRecord): Change | undefined {
  const image = record.dynamodb?.NewImage as Record<string, AttributeValue> | undefined;
  if (record.eventName === 'REMOVE' || !image) return undefined;
  const item = unmarshall(image);
  if (item.sk !== META_SK || typeof item.tenant !== 'string' || typeof item.id !== 'string') return undefined;
  const stage = item[ADMISSION_INDEX.partitionKey];
  return {
    tenant: item.tenant,
    id: item.id,
    status: item.status as ExecutionStatus,
    held: item.held === true,
    ...(typeof stage === 'string' ? { stage } : {}),
  };
}

/**
 * The table stream's changes that concern admission (the mapping's filters pass only these): a
 * record written `held` is placed (delayed or queued); a record that ended while it held a slot gives
 * it back; one that ended while it waited leaves the queue. Then every tenant touched gets an
 * admission run: a slot may have freed, or work arrived. Each step is one conditional write, so a
 * repeated record (a retried batch) changes nothing twice.
 */
export async function handleChanges(deps: AdmissionDeps, records: readonly DynamoDBRecord[]): Promise<void> {
  const tenants = new Set<string>();
  for (const record of records) {
    const change = changeOf(record);
    if (!change) continue;
    const now = deps.now?.() ?? Date.now();
    if (isTerminal(change.status)) {
      if (change.stage?.startsWith('S#')) {
        if (await deps.store.release(change.tenant, change.id, now)) deps.logger.debug('slot released', { execution_id: change.id });
      } else if (change.held || change.stage) {
        await deps.store.dropWaiting(change.tenant, change.id);
      }
      tenants.add(change.tenant);
    } else if (change.held) {
      const placed = await deps.store.place(change.tenant, change.id, now);
      if (placed === 'queued') tenants.add(change.tenant);
    }
  }
  for (const tenant of tenants) await admitTenant(deps, tenant);
}

