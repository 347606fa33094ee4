import { NotFoundError } from '../domain/errors.js';
import { callbackPath, callbackToken, callbackKey } from '../domain/callbacks.js';
import type { ExecutionRecord, TransitionRecord } from '../domain/execution.js';
import { isTerminal } from '../domain/status.js';
import { toExecutionView, toTransitionView, type ExecutionView, type Page, type QueueView, type TransitionView, type ViewLinks } from '../domain/views.js';
import { QueueReader } from '../repository/queue-reader.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { repository } from '../shared/dynamodb.js';
import { repositoryOptions } from '../shared/repository-options.js';
import { requireEnv } from '../shared/env.js';
import { PayloadLinks } from '../shared/payload-links.js';
import { s3 } from '../shared/s3.js';
import { createLogger } from '../shared/logger.js';
import { entityTag, ifNoneMatchOf, matchesCurrent, type NoneMatchCondition } from './conditional.js';
import { REGION, deployedTaskIds } from './context.js';
import { httpHandler, json, linksOf, param, tenantOf, type ApiEvent, type Route } from './http.js';
import { readLimited } from './rate-limit.js';
import { ANSWER_RESERVE_MS, holdUntilChanged, preferredWait } from './long-poll.js';
import { executionIdOf, executionListParams, transitionListParams, transitionSeqOf } from './queries.js';
import { queueViewOf } from './queue-view.js';

const logger = createLogger('executions-read');
const queue = new QueueReader(documentClient, repositoryOptions.tableName);
const CALLBACK_KEY = callbackKey(repositoryOptions.cursorSecret);
const payloadLinks = new PayloadLinks(s3, requireEnv('PAYLOAD_BUCKET'));

/**
 * The view of a row, with the resume link of a `wait` row minted from its nonce: an absolute URL
 * on the base the caller reached the API at, as `status_url` (so the wait function needs no URL
 * of the API, which would tie the runtime to the API in the stack).
 */
function transitionView(event: ApiEvent, tenant: string, outputUrls?: ReadonlyMap<TransitionRecord, string | null>): (row: TransitionRecord) => TransitionView {
  const base = linksOf(event, REGION).apiBaseUrl;
  return (row) => {
    const outputUrl = outputUrls?.get(row) ?? null;
    const nonce = row.type === 'wait' ? row.callbackNonce : undefined;
    if (nonce === undefined || !row.step) return toTransitionView(row, null, outputUrl);
    const token = callbackToken(CALLBACK_KEY, { tenant, executionId: row.executionId, stepIndex: row.step.index, nonce });
    return toTransitionView(row, `${base}${callbackPath(token)}`, outputUrl);
  };
}

/** The presigned links of rows whose values were offloaded (signed locally: no request to S3). */
async function rowUrls(rows: readonly TransitionRecord[]): Promise<Map<TransitionRecord, string | null>> {
  return new Map(await Promise.all(rows.map(async (row) => [row, await payloadLinks.urlOf(row.output)] as const)));
}
/** From the stack, not the task registry: importing the registry would bundle every schema. */
const TASK_IDS = deployedTaskIds();

const listExecutions: Route = async (event) => {
  const taskId = event.pathParameters?.task_id;
  if (taskId !== undefined && !TASK_IDS.has(taskId)) throw new NotFoundError(`No task ${taskId.slice(0, 64)} exists.`);
  const params = executionListParams(event.queryStringParameters, taskId);
  const page = await repository.list({ tenant: tenantOf(event), ...params });
  const links = linksOf(event, REGION);
  const items = await Promise.all(page.items.map(async (record) => toExecutionView(record, links, await payloadLinks.of(record))));
  return json(200, { items, next_cursor: page.nextCursor } satisfies Page<ExecutionView>);
};

/** The execution's view as the JSON text a 200 sends, and the entity tag of that text. */
interface Representation {
  readonly text: string;
  readonly etag: string;
  /** A finished execution never changes again. */
  readonly final: boolean;
  /** The text with the presigned links of offloaded values, minted when it is sent. */
  readonly send: () => Promise<string>;
}

function representationOf(record: ExecutionRecord, links: ViewLinks, waiting: QueueView | null): Representation {
  // The tag is taken without the presigned links: they change every second they are minted, the execution does not.
  const text = JSON.stringify({ ...toExecutionView(record, links), queue: waiting } satisfies ExecutionView);
  const send = async () => {
    const urls = await payloadLinks.of(record);
    return urls.input || urls.output ? JSON.stringify({ ...toExecutionView(record, links, urls), queue: waiting } satisfies ExecutionView) : text;
  };
  return { text, etag: entityTag(text, record.transitionCount), final: isTerminal(record.status), send };
}

/** The execution with where it waits (`queue`), from one GetItem; a queued one in its tenant's queue reads its position too. */
async function detailOf(tenant: string, id: string, links: ViewLinks, signal?: AbortSignal): Promise<Representation> {
  const found = await queue.find(tenant, id, signal ? { abortSignal: signal } : {});
  if (!found) throw new NotFoundError(`No execution ${id} exists.`);
  return representationOf(found.record, links, await queueViewOf(queue, found.record, found.place));
}

/**
 * One execution, with its ETag; 304 when `If-None-Match` matches it. `Prefer: wait=N` holds the
 * request until the execution differs from what the caller has (the tags it sent, or without any,
 * the execution as it was when the request arrived) or N seconds pass (docs/contract.md).
 */
const readExecution: Route = async (event, context) => {
  const arrived = Date.now();
  const remaining = context.getRemainingTimeInMillis();
  const tenant = tenantOf(event);
  const id = executionIdOf(param(event, 'id'));
  const links = linksOf(event, REGION);
  const read = (signal?: AbortSignal) => detailOf(tenant, id, links, signal);
  let current = await read();
  const condition = ifNoneMatchOf(event.headers);
  const known: NoneMatchCondition = condition ?? { any: false, tags: [current.etag] };
  // Never past what the function has left (its timeout outlasts the longest wait: infra/constructs/executions-api.ts).
  const seconds = Math.min(preferredWait(event.headers)?.seconds ?? 0, Math.floor((remaining - ANSWER_RESERVE_MS) / 1000));
  const headers: Record<string, string> = {};
  // Held only while the answer can still change: not for a finished execution, nor for `*`
  // (which matches whatever the execution becomes), nor once it differs from what the caller has.
  if (seconds >= 1 && !current.final && !known.any && matchesCurrent(known, current.etag)) {
    headers['preference-applied'] = `wait=${seconds}`;
    const deadline = arrived + seconds * 1000;
    current = await holdUntilChanged(current, { read, changed: (next) => !matchesCurrent(known, next.etag), deadline });
  }
  headers.etag = current.etag;
  if (condition && matchesCurrent(condition, current.etag)) return { status: 304, headers };
  return { status: 200, text: await current.send(), headers };
};

const routes: Record<string, Route> = {
  'GET /executions': listExecutions,
  'GET /tasks/{task_id}/executions': listExecutions,
  'GET /executions/{id}': readExecution,
  'GET /executions/{id}/transitions': async (event) => {
    const tenant = tenantOf(event);
    const executionId = executionIdOf(param(event, 'id'));
    const params = transitionListParams(event.queryStringParameters);
    const page = await repository.listTransitions({ tenant, executionId, ...params });
    // An execution always has its init row, so an empty page (e.g. an offset past the end) is only
    // a 200 when the execution exists here; otherwise it is the 404 of an unknown id.
    if (page.items.length === 0) await repository.get(tenant, executionId);
    // Rows never change, but a page grows and its cursor moves as rows are added: the tag is the
    // page's own text. It saves the caller the body, not the read.
    // The tag is the page without the presigned links (which change every second they are minted).
    const text = JSON.stringify({ items: page.items.map(transitionView(event, tenant)), next_cursor: page.nextCursor } satisfies Page<TransitionView>);
    const etag = entityTag(text);
    const condition = ifNoneMatchOf(event.headers);
    if (condition && matchesCurrent(condition, etag)) return { status: 304, headers: { etag } };
    const urls = await rowUrls(page.items);
    const linked = [...urls.values()].some((url) => url !== null)
      ? JSON.stringify({ items: page.items.map(transitionView(event, tenant, urls)), next_cursor: page.nextCursor } satisfies Page<TransitionView>)
      : text;
    return { status: 200, text: linked, headers: { etag } };
  },
  'GET /executions/{id}/transitions/{transition_id}': async (event) => {
    const tenant = tenantOf(event);
    const executionId = executionIdOf(param(event, 'id'));
    const transitionId = param(event, 'transition_id');
    const row = await repository.findTransition(tenant, executionId, transitionSeqOf(transitionId));
    if (!row || row.id !== transitionId) throw new NotFoundError(`No transition ${transitionId} in execution ${executionId}.`);
    return json(200, transitionView(event, tenant, await rowUrls([row]))(row));
  },
};

/** Lambda entry of the read routes (read-only on the table but for the caller's read rate counter). */
export const handler = httpHandler(readLimited(routes), logger);
