import { limitOf, scopesOf } from '../domain/admission.js';
import type { ExecutionRecord } from '../domain/execution.js';
import type { QueueView } from '../domain/views.js';
import type { AdmissionPlace, QueueReader } from '../repository/queue-reader.js';

const REASONS = { TENANT: 'tenant_limit', TASK: 'task_limit', KEY: 'key_limit' } as const;

/**
 * Why a `queued` execution waits and where (`GET /executions/{id}`); null for any other status. A
 * delayed one waits for its start time; one in its tenant's queue has a position (1 starts next)
 * and the first of its limits that is reached (tenant, task, then key), or `admitting` when none
 * is (a slot is free and admission is taking it up); one admitted, or never held (it starts at
 * once), is `starting`. Extra reads only for a record in the queue: the count of those ahead of it
 * and one BatchGetItem of the limits and counters.
 */
export async function queueViewOf(reader: QueueReader, record: ExecutionRecord, place: AdmissionPlace | undefined): Promise<QueueView | null> {
  if (record.status !== 'queued') return null;
  const none = { position: null, start_at: record.startAt ?? null, limit: null };
  if (place?.stage === 'delayed') return { reason: 'start_at', ...none };
  if (place?.stage === 'held') return { reason: 'admitting', ...none };
  if (place?.stage !== 'queued' || !place.sort) return { reason: 'starting', ...none };
  const scopes = scopesOf(record.taskId, record.concurrencyKey);
  const [position, { limits, running }] = await Promise.all([reader.position(record.tenant, place.sort), reader.limits(record.tenant, scopes)]);
  for (const scope of scopes) {
    const limit = limits && limitOf(limits, scope);
    const count = running.get(scope) ?? 0;
    if (limit !== undefined && count >= limit) {
      return { reason: REASONS[scope.split('#')[0] as keyof typeof REASONS], position, start_at: none.start_at, limit: { scope, limit, running: count } };
    }
  }
  return { reason: 'admitting', ...none, position };
}
