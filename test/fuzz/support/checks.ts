import { matchesMetadata, parseMetadataFilter, type MetadataFilter } from '../../../lambdas/domain/metadata-filter.js';
import { PUBLIC_ROUTES, type RouteKey } from '../../../lambdas/api/routes.js';
import { EXECUTION_STATUSES, TERMINAL_STATUSES, parseStatus, TRANSITION_TABLE, TRANSITION_TYPES, type ExecutionStatus, type TransitionType } from '../../../lambdas/domain/status.js';
import { decodePayload } from '../../../lambdas/repository/codec.js';
import { openKey, openSort, executionPk, statusKey, taskKey, tenantKey, transitionSk } from '../../../lambdas/repository/keys.js';

/** A response as both layers see it. */
export interface Reply {
  readonly status: number;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly raw: string;
}

/** What a response may be checked against. */
export interface ReplyContext {
  /** Every text the request carried (path, query, headers, body): what the service may echo back. */
  readonly requestText: string;
  /** A 503 is expected: a dependency failure was injected and reached. */
  readonly allowUnavailable: boolean;
}

/** Texts that only internals produce: stack frames, file paths, error class prefixes, SDK fields. */
const INTERNALS: readonly RegExp[] = [
  /\bat (?:async )?[\w$.<>]+ \(?[^\s()]*:\d+:\d+\)?/,
  /node_modules/,
  /(?:\/work\/|\/home\/|\/var\/task\/|\/var\/runtime\/|file:\/\/)/,
  /\.(?:ts|js|mjs|cjs):\d+/,
  // A lookbehind, not a consumed character: an echoed name such as `query.TypeError: x` matches as the request's own text.
  /(?<![A-Za-z])[A-Za-z]*(?:Error|Exception): /,
  /"stack"\s*:/,
  // SDK plumbing. (A dependency's error name, e.g. ThrottlingException, is the documented cause of a
  // failed start, so it is not on this list.)
  /\$metadata|CancellationReasons|ConditionalCheckFailed|TransactionCanceled/,
  /fuzz-token-\d+/,
];

function strings(value: unknown, into: string[] = []): string[] {
  if (typeof value === 'string') into.push(value);
  else if (Array.isArray(value)) for (const item of value) strings(item, into);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      into.push(key);
      strings(item, into);
    }
  }
  return into;
}

/**
 * What is wrong with a response: a 5xx (a 503 only when expected), an error that is not RFC 9457
 * problem+json with `type`, `title`, `status` = the HTTP status and `detail`, a 401 without
 * `www-authenticate: Bearer`, a body that is not JSON, or internals in the body that the request
 * did not carry itself.
 */
export function replyViolations(reply: Reply, context: ReplyContext): string[] {
  const found: string[] = [];
  const { status } = reply;
  if (!Number.isInteger(status) || status < 200 || status > 599) found.push(`status ${status} is not an HTTP status`);
  if (status >= 500 && !(status === 503 && context.allowUnavailable)) found.push(`status ${status}`);
  const contentType = reply.headers['content-type'] ?? '';
  if (status === 204) {
    if (reply.raw !== '') found.push('a 204 with a body');
    return found;
  }
  let body: unknown;
  if (status === 200 && contentType.startsWith('text/event-stream')) {
    found.push(...eventStreamViolations(reply.raw));
    body = eventStreamData(reply.raw);
  } else {
    try {
      body = reply.raw === '' ? undefined : JSON.parse(reply.raw);
    } catch {
      found.push('body is not JSON');
    }
  }
  if (status >= 300) {
    if (contentType !== 'application/problem+json') found.push(`error content-type is "${contentType}"`);
    const problem = (body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) found.push('error body is not an object');
    if (typeof problem.type !== 'string' || !/^\/problems\/[a-z-]+$/.test(problem.type)) found.push(`problem type ${String(problem.type)}`);
    if (typeof problem.title !== 'string' || problem.title === '') found.push('problem has no title');
    if (problem.status !== status) found.push(`problem status ${String(problem.status)} ≠ HTTP ${status}`);
    if (typeof problem.detail !== 'string' || problem.detail === '') found.push('problem has no detail');
    if (status === 401 && reply.headers['www-authenticate'] !== 'Bearer') found.push('401 without www-authenticate: Bearer');
  } else if (!contentType.startsWith('application/json') && !contentType.startsWith('text/event-stream')) {
    found.push(`content-type is "${contentType}"`);
  }
  for (const text of strings(body, [reply.raw])) {
    for (const marker of INTERNALS) {
      const match = marker.exec(text);
      if (match && !context.requestText.includes(match[0].trim())) found.push(`internals in the body: ${JSON.stringify(match[0])}`);
    }
  }
  return [...new Set(found)];
}

/** The data of every event of a text/event-stream body, parsed (a data line that is not JSON as its text). */
function eventStreamData(raw: string): unknown[] {
  return raw
    .split('\n')
    .filter((line) => line.startsWith('data: '))
    .map((line) => {
      try {
        return JSON.parse(line.slice(6)) as unknown;
      } catch {
        return line;
      }
    });
}

/**
 * What is wrong with a text/event-stream body: a line that is neither blank, a comment nor one of
 * the fields `id` (a whole number), `event`, `data` (JSON) and `retry` (a whole number), or a body
 * that does not end its last block with a blank line.
 */
export function eventStreamViolations(raw: string): string[] {
  const found: string[] = [];
  if (raw !== '' && !raw.endsWith('\n\n')) found.push('event stream does not end with a blank line');
  for (const line of raw.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const match = /^(id|event|data|retry): (.*)$/.exec(line);
    if (!match) {
      found.push(`event stream line ${JSON.stringify(line.slice(0, 80))}`);
      continue;
    }
    const [, field, value] = match;
    if ((field === 'id' || field === 'retry') && !/^\d+$/.test(value!)) found.push(`event stream ${field} ${JSON.stringify(value)}`);
    if (field === 'data') {
      try {
        JSON.parse(value!);
      } catch {
        found.push('event data is not JSON');
      }
    }
  }
  return found;
}

/**
 * What is wrong with the metadata of a new execution: the view or the stored record does not
 * hold exactly what the caller sent (`null` or nothing being `{}`), compared as JSON text, so
 * key order and own prototype-named keys count.
 */
export function metadataViolations(sent: unknown, shown: unknown, stored: unknown): string[] {
  const expected = JSON.stringify(sent ?? {});
  const found: string[] = [];
  if (JSON.stringify(shown) !== expected) found.push(`metadata shown as ${JSON.stringify(shown)?.slice(0, 200)}, sent ${expected.slice(0, 200)}`);
  if (JSON.stringify(stored) !== expected) found.push(`metadata stored as ${JSON.stringify(stored)?.slice(0, 200)}, sent ${expected.slice(0, 200)}`);
  return found;
}

/** One transition row, as stored or as the API shows it. */
export interface RowState {
  readonly seq: unknown;
  readonly type: unknown;
  readonly from: unknown;
  readonly to: unknown;
}

/** An execution and its history, as stored or as the API shows it. */
export interface ExecutionState {
  readonly id: string;
  readonly status: unknown;
  readonly transitionCount: unknown;
  readonly rows: readonly RowState[];
}

const isStatus = (value: unknown): value is ExecutionStatus => (EXECUTION_STATUSES as readonly unknown[]).includes(value);
const isType = (value: unknown): value is TransitionType => (TRANSITION_TYPES as readonly unknown[]).includes(value);

/**
 * What is wrong with an execution's history: rows not numbered 1..n without gaps, a
 * `transition_count` that is not n, an unknown status or type, a row the status table does not
 * allow, rows that do not chain (`from` = the previous `to`), or a status that is not the last `to`.
 */
export function historyViolations(execution: ExecutionState): string[] {
  const found: string[] = [];
  const at = `execution ${execution.id}`;
  if (!isStatus(execution.status)) found.push(`${at}: status ${String(execution.status)}`);
  const rows = [...execution.rows].sort((a, b) => Number(a.seq) - Number(b.seq));
  rows.forEach((row, index) => {
    if (row.seq !== index + 1) found.push(`${at}: row ${index + 1} has seq ${String(row.seq)}`);
  });
  if (execution.transitionCount !== rows.length) {
    found.push(`${at}: transition_count ${String(execution.transitionCount)} but ${rows.length} rows`);
  }
  rows.forEach((row, index) => {
    const where = `${at} seq ${String(row.seq)}`;
    if (!isType(row.type)) {
      found.push(`${where}: type ${String(row.type)}`);
      return;
    }
    const rule = TRANSITION_TABLE[row.type];
    if (row.to !== rule.to) found.push(`${where}: ${row.type} goes to ${String(row.to)}, not ${rule.to}`);
    if (index === 0) {
      if (row.type !== 'init' || row.from !== null) found.push(`${where}: the first row is ${row.type} from ${String(row.from)}`);
      return;
    }
    if (row.type === 'init') found.push(`${where}: a second init row`);
    else if (!isStatus(row.from) || !rule.from.includes(row.from)) found.push(`${where}: ${row.type} from ${String(row.from)}`);
    if (row.from !== rows[index - 1]!.to) found.push(`${where}: from ${String(row.from)} after a row to ${String(rows[index - 1]!.to)}`);
  });
  const last = rows.at(-1);
  if (last && last.to !== execution.status) found.push(`${at}: status ${String(execution.status)} but the last row goes to ${String(last.to)}`);
  return found;
}

type Item = Readonly<Record<string, unknown>>;

function decodes(value: unknown): boolean {
  try {
    decodePayload(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * What is wrong with the stored items of the executions table: every execution partition must hold
 * its record and a consistent history (see {@link historyViolations}), with index keys that match
 * the record, decodable payloads, and terminal/waiting fields that match the status; every
 * Idempotency-Key must point at an execution of its tenant; every tag index item at a record with
 * its tag. Nothing else may be stored, except API keys.
 */
export function storedViolations(items: readonly Item[]): string[] {
  const partitions = new Map<string, Item[]>();
  for (const item of items) {
    const pk = String(item.pk);
    partitions.set(pk, [...(partitions.get(pk) ?? []), item]);
  }
  const found: string[] = [];
  for (const [pk, partition] of partitions) {
    if (pk.startsWith('APIKEY#')) continue;
    if (pk.startsWith('CALLBACK#')) {
      // A resume link's lookup item: it names an execution of its tenant, and expires.
      for (const link of partition) {
        const execution = partitions.get(executionPk(String(link.tenant), String(link.execution_id)));
        if (link.sk !== 'CALLBACK' || !execution?.some((item) => item.sk === 'META')) found.push(`${pk}: a link to a missing execution ${String(link.execution_id)}`);
        if (typeof link.expires_at !== 'number' || typeof link.step_index !== 'number') found.push(`${pk}: a link without expiry or step`);
      }
      continue;
    }
    if (pk.startsWith('RATE#')) {
      // A rate counter of one key (or tenant), class and window: one item, a positive count, an expiry.
      for (const counter of partition) {
        if (counter.sk !== 'RATE' || typeof counter.count !== 'number' || counter.count < 1 || typeof counter.expires_at !== 'number') {
          found.push(`${pk}: a malformed rate counter ${JSON.stringify(counter)}`);
        }
      }
      continue;
    }
    if (pk.startsWith('IDEM#')) {
      for (const claim of partition) {
        const tenant = pk.split('#')[1]!;
        if (!partitions.get(executionPk(tenant, String(claim.execution_id)))?.some((item) => item.sk === 'META')) {
          found.push(`${pk}: Idempotency-Key of a missing execution ${String(claim.execution_id)}`);
        }
      }
      continue;
    }
    if (pk.startsWith('TAG#')) {
      // A tag index item: written with its tag's edit, in the same transaction, so its record has the tag.
      for (const tagged of partition) {
        const tag = pk.slice(`TAG#${String(tagged.tenant)}#`.length);
        const record = partitions.get(executionPk(String(tagged.tenant), String(tagged.sk)))?.find((item) => item.sk === 'META');
        if (!pk.startsWith(`TAG#${String(tagged.tenant)}#`) || tagged.id !== tagged.sk) found.push(`${pk}: an item of another tenant or execution`);
        if (!(record?.tags as unknown[] | undefined)?.includes(tag)) found.push(`${pk}: an item of ${String(tagged.sk)}, whose record has no such tag`);
        if (typeof tagged.expires_at !== 'number') found.push(`${pk}: an item without expiry`);
      }
      continue;
    }
    if (pk.startsWith('BULK#') || pk.startsWith('BULKITEMS#') || pk === 'BULKACTIVE') {
      found.push(...bulkViolations(pk, partition, partitions));
      continue;
    }
    if (!pk.startsWith('EXEC#')) {
      found.push(`unexpected partition ${pk}`);
      continue;
    }
    const record = partition.find((item) => item.sk === 'META');
    const rows = partition.filter((item) => String(item.sk).startsWith('TR#'));
    const others = partition.filter((item) => item !== record && !rows.includes(item));
    if (!record) {
      found.push(`${pk}: ${rows.length} transition rows without a record (half-written)`);
      continue;
    }
    if (others.length > 0) found.push(`${pk}: unexpected items ${others.map((item) => String(item.sk)).join(', ')}`);
    const tenant = String(record.tenant);
    const id = String(record.id);
    const status = record.status as ExecutionStatus;
    found.push(
      ...historyViolations({
        id,
        status,
        transitionCount: record.transition_count,
        rows: rows.map((row) => ({ seq: row.seq, type: row.type, from: row.from ?? null, to: row.to })),
      }),
    );
    if (pk !== executionPk(tenant, id)) found.push(`${pk}: record of ${tenant}/${id}`);
    if (record.tenant_key !== tenantKey(tenant)) found.push(`${pk}: tenant_key ${String(record.tenant_key)}`);
    if (record.task_key !== taskKey(tenant, String(record.task_id))) found.push(`${pk}: task_key ${String(record.task_key)}`);
    // Sparse by-ended holds exactly the ended executions, by-open exactly the others.
    const ended = TERMINAL_STATUSES.has(status);
    if (record.status_key !== (ended ? statusKey(tenant, status) : undefined)) found.push(`${pk}: status_key ${String(record.status_key)} for status ${status}`);
    if (record.open_key !== (ended ? undefined : openKey(tenant))) found.push(`${pk}: open_key ${String(record.open_key)} for status ${status}`);
    if (record.open_sort !== (ended ? undefined : openSort(tenant, id))) found.push(`${pk}: open_sort ${String(record.open_sort)} for status ${status}`);
    if (!decodes(record.input) || !decodes(record.output) || !decodes(record.metadata)) found.push(`${pk}: a payload does not decode`);
    const terminal = TERMINAL_STATUSES.has(status);
    if (terminal && typeof record.completed_at !== 'string') found.push(`${pk}: ${status} without completed_at`);
    if (!terminal && record.completed_at !== undefined) found.push(`${pk}: ${status} with completed_at`);
    if ((status === 'awaiting_input') !== (typeof record.wait_token === 'string')) {
      found.push(`${pk}: ${status} ${record.wait_token === undefined ? 'without' : 'with'} a wait token`);
    }
    // A link works only while its wait does: its nonce leaves the record with the wait.
    if (record.callback_nonce !== undefined && status !== 'awaiting_input') found.push(`${pk}: ${status} with a resume link nonce`);
    for (const row of rows) {
      if (row.sk !== transitionSk(Number(row.seq))) found.push(`${pk}: row ${String(row.sk)} has seq ${String(row.seq)}`);
      if (row.execution_id !== id) found.push(`${pk}: row ${String(row.sk)} of execution ${String(row.execution_id)}`);
      if (!decodes(row.output) || !decodes(row.metadata)) found.push(`${pk}: row ${String(row.sk)} output or metadata does not decode`);
    }
  }
  return found;
}

/** One request and its response, with what the service's rules need to judge it. */
export interface Exchange {
  readonly route: RouteKey;
  /** Whether the credentials were valid (the authorizer established a tenant). */
  readonly authenticated: boolean;
  /** The `{id}` of the path, as the function received it. */
  readonly executionId?: string;
  /** The `{task_id}` of the path, as the function received it. */
  readonly taskId?: string;
  /** The query, as the function received it (repeated names joined with commas). */
  readonly query: Readonly<Record<string, string>>;
  readonly status: number;
  readonly body: unknown;
  /** `POST /callbacks/{token}`: the token is a link the service made (not made up, not damaged). */
  readonly liveLink?: boolean;
  /** True for the caller's own executions. */
  isOwn(id: string): boolean;
}

/**
 * What breaks the service's own rules: refused credentials not answered 401 (public routes
 * excepted); a 2xx about an execution that is not the caller's; a list holding someone else's
 * executions, or ignoring its status or task filter, or answering 200 to a status that is none.
 */
export function ruleViolations(exchange: Exchange): string[] {
  const found: string[] = [];
  const { route, status, query } = exchange;
  if (!PUBLIC_ROUTES.includes(route) && !exchange.authenticated && status !== 401) found.push(`refused credentials answered ${status}, not 401`);
  if (status >= 200 && status < 300 && route.includes('{token}') && !exchange.liveLink) found.push(`${status} for a resume link nobody was given`);
  if (status >= 200 && status < 300 && route.includes('{id}') && !(exchange.executionId !== undefined && exchange.isOwn(exchange.executionId))) {
    found.push(`${status} for execution ${JSON.stringify(exchange.executionId)}, which is not the caller's`);
  }
  if (status === 200 && (route === 'GET /executions' || route === 'GET /tasks/{task_id}/executions')) {
    const items = ((exchange.body as { items?: unknown } | undefined)?.items ?? []) as Array<{ id: string; status: string; task_id: string }>;
    const filter = query.status === undefined ? undefined : parseStatus(query.status);
    if (query.status !== undefined && !(EXECUTION_STATUSES as readonly unknown[]).includes(filter)) found.push(`200 for status filter ${JSON.stringify(query.status)}`);
    const taskId = exchange.taskId ?? query.task_id;
    const tags = query.tag === undefined ? [] : query.tag.split(',');
    let metadataFilter: MetadataFilter | undefined;
    try {
      metadataFilter = query.metadata_filter === undefined ? undefined : parseMetadataFilter(query.metadata_filter);
    } catch {
      found.push(`200 for metadata_filter ${JSON.stringify((query.metadata_filter ?? '').slice(0, 80))}`);
    }
    for (const item of items as Array<{ id: string; status: string; task_id: string; tags?: string[] | null; batch_id?: string | null; metadata?: Record<string, unknown> }>) {
      if (!exchange.isOwn(item.id)) found.push(`listed ${item.id}, which is not the caller's`);
      for (const tag of tags) if (!item.tags?.includes(tag)) found.push(`listed ${item.id} without tag ${tag}`);
      if (query.batch_id !== undefined && item.batch_id !== query.batch_id) found.push(`listed ${item.id} of batch ${String(item.batch_id)} for batch_id=${query.batch_id}`);
      if (metadataFilter && !matchesMetadata(item.metadata ?? {}, metadataFilter)) found.push(`listed ${item.id}, whose metadata does not match ${query.metadata_filter}`);
      if (filter !== undefined && item.status !== filter) found.push(`listed a ${item.status} execution for status=${query.status}`);
      if (taskId !== undefined && item.task_id !== taskId) found.push(`listed a ${item.task_id} execution for task ${taskId}`);
    }
  }
  return found;
}

/**
 * Bulk action items: a tenant's count of active jobs is the number of its jobs queued or running;
 * each active job has the sweep's marker and each marker an active job; an Idempotency-Key and an
 * item result name a job of their tenant.
 */
function bulkViolations(pk: string, partition: readonly Item[], partitions: ReadonlyMap<string, readonly Item[]>): string[] {
  const found: string[] = [];
  const jobOf = (tenant: string, id: string) => partitions.get(`BULK#${tenant}`)?.find((item) => item.sk === `JOB#${id}`);
  const active = (job: Item | undefined) => job !== undefined && (job.status === 'queued' || job.status === 'running');
  if (pk === 'BULKACTIVE') {
    for (const marker of partition) if (!active(jobOf(String(marker.tenant), String(marker.sk)))) found.push(`${pk}: a marker of job ${String(marker.sk)}, which is not active`);
    return found;
  }
  if (pk.startsWith('BULKITEMS#')) {
    const [, tenant = '', id = ''] = pk.split('#');
    if (!jobOf(tenant, id)) found.push(`${pk}: item results of a missing job`);
    return found;
  }
  const tenant = pk.slice('BULK#'.length);
  const jobs = partition.filter((item) => String(item.sk).startsWith('JOB#'));
  const counter = partition.find((item) => item.sk === 'ACTIVE');
  const activeJobs = jobs.filter(active);
  if ((counter?.active_jobs ?? 0) !== activeJobs.length) found.push(`${pk}: counts ${String(counter?.active_jobs)} active jobs, has ${activeJobs.length}`);
  for (const job of activeJobs) {
    if (!partitions.get('BULKACTIVE')?.some((marker) => marker.sk === job.id && marker.tenant === tenant)) found.push(`${pk}: active job ${String(job.id)} without its marker`);
  }
  for (const claim of partition.filter((item) => String(item.sk).startsWith('IDEM#'))) {
    if (!jobOf(tenant, String(claim.job_id))) found.push(`${pk}: Idempotency-Key of a missing job ${String(claim.job_id)}`);
  }
  return found;
}
