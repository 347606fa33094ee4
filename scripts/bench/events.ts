import type { MeteredStack, Operation } from './local-stack.js';

/** The events function's entry, as the metered stack names the caller of each DynamoDB call. */
const EVENTS_ENTRY = 'api/executions-events.ts';

/** DynamoDB reads and requests of watchers, per watcher and minute. */
export interface WatchCost {
  readonly what: string;
  readonly watchers: number;
  readonly minutes: number;
  readonly requests: number;
  readonly queries: number;
  readonly gets: number;
  readonly capacity: number;
}

/** What section "Event streams" of the benchmark reports. */
export interface EventsReport {
  readonly idle: WatchCost;
  readonly active: WatchCost;
  /** From a transition's `created_at` (its writer's clock, this machine) to its arrival at a watcher, in ms. */
  readonly latency: Latency;
}

/** Quantiles of a set of latencies, in ms. */
export interface Latency {
  readonly samples: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** Percentiles of latency samples (ms). */
export function latencyOf(samples: readonly number[]): Latency {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return { samples: sorted.length, p50: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? Number.NaN };
}

interface Parsed {
  readonly event: string;
  readonly id: string;
  readonly data: string;
}

/** The events of a text/event-stream body (the fields this service writes). */
function parse(text: string): { events: Parsed[]; retry: number } {
  let retry = 0;
  const events: Parsed[] = [];
  for (const block of text.split('\n\n')) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const match = /^(\w+): (.*)$/.exec(line);
      if (match) fields.set(match[1]!, match[2]!);
    }
    if (fields.has('retry')) retry = Number(fields.get('retry'));
    if (fields.has('data')) events.push({ event: fields.get('event') ?? 'message', id: fields.get('id') ?? '', data: fields.get('data')! });
  }
  return { events, retry };
}

/**
 * Watches an execution as an `EventSource` does (reconnecting after each response, after its
 * `retry`, with the last event id) until `end`, or until `stopAt` (ms since the epoch). Calls
 * `arrived` with each transition and the time its response arrived.
 */
async function watch(
  metered: MeteredStack,
  executionId: string,
  options: { readonly after?: string; readonly stopAt?: number; readonly arrived?: (createdAt: string, at: number) => void },
): Promise<number> {
  let lastId = options.after;
  let requests = 0;
  for (;;) {
    const response = await fetch(`${metered.stack.url}/executions/${executionId}/events`, {
      headers: { authorization: `Bearer ${metered.apiKey}`, accept: 'text/event-stream', ...(lastId === undefined ? {} : { 'last-event-id': lastId }) },
    });
    const text = await response.text();
    const at = Date.now();
    requests++;
    if (response.status === 204) return requests;
    if (response.status !== 200) throw new Error(`events of ${executionId}: ${response.status} ${text}`);
    const { events, retry } = parse(text);
    for (const event of events) {
      lastId = event.id;
      if (event.event === 'transition') options.arrived?.((JSON.parse(event.data) as { created_at: string }).created_at, at);
      if (event.event === 'end') return requests;
    }
    if (options.stopAt !== undefined && Date.now() + retry >= options.stopAt) return requests;
    await new Promise((resolve) => setTimeout(resolve, retry));
  }
}

function cost(what: string, ops: readonly Operation[], watchers: number, minutes: number, requests: number): WatchCost {
  const own = ops.filter((op) => op.entry === EVENTS_ENTRY);
  return {
    what,
    watchers,
    minutes,
    requests,
    queries: own.filter((op) => op.command === 'Query').length,
    gets: own.filter((op) => op.command === 'GetItem').length,
    capacity: own.reduce((sum, op) => sum + op.capacity, 0),
  };
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Watchers against the local stack: `idleSeconds` of `watchers` watching a waiting execution (the
 * cost of a watcher while nothing happens), then `executions` batch-summarize executions (a
 * second's sleep, then ten map items at once) started a little apart, each watched by two
 * watchers from its start, for the cost while things happen and the latency of every transition.
 */
export async function measureEvents(metered: MeteredStack, idleSeconds = 60, watchers = 4, executions = 6, spacingMs = 1_500): Promise<EventsReport> {
  const api = metered.api.bind(metered);
  const status = async (id: string) => (await api<{ status: string; transition_count: number }>('GET', `/executions/${id}`)).body;

  const waiting = await api<{ id: string }>('POST', '/tasks/approval-flow/executions', {
    input: { title: 'Idle watchers', body: 'Nobody decides while they watch.' },
  });
  await until(async () => (await status(waiting.body.id)).status === 'awaiting_input', 'awaiting_input');
  const after = String((await status(waiting.body.id)).transition_count);
  let from = metered.operations.length;
  const idleStarted = Date.now();
  // A response in progress runs to its window's end: the watchers stop at the first end after the time.
  const stopAt = idleStarted + idleSeconds * 1000;
  const idleRequests = await Promise.all(Array.from({ length: watchers }, () => watch(metered, waiting.body.id, { after, stopAt })));
  const idleMinutes = (Date.now() - idleStarted) / 60_000;
  const idle = cost('a waiting execution (nothing happens)', metered.operations.slice(from), watchers, idleMinutes, idleRequests.reduce((a, b) => a + b, 0));
  await api('POST', `/executions/${waiting.body.id}/cancel`, { reason: 'benchmark done' });

  const latencies: number[] = [];
  from = metered.operations.length;
  const documents = Array.from({ length: 10 }, (_, index) => ({ url: `https://example.com/bench/${index}.pdf`, words: index % 2 === 0 ? 5200 : 300 }));
  const runs: Array<Promise<number[]>> = [];
  for (let index = 0; index < executions; index++) {
    const created = await api<{ id: string }>('POST', '/tasks/batch-summarize/executions', { input: { documents, rate_limit_seconds: 1 } });
    runs.push(
      Promise.all(
        [0, 1].map(async () => {
          const watchStarted = Date.now();
          const requests = await watch(metered, created.body.id, { arrived: (createdAt, at) => latencies.push(at - Date.parse(createdAt)) });
          return [requests, Date.now() - watchStarted];
        }),
      ).then((pairs) => [pairs.reduce((sum, [requests]) => sum + requests!, 0), pairs.reduce((sum, [, ms]) => sum + ms!, 0)]),
    );
    await new Promise((resolve) => setTimeout(resolve, spacingMs));
  }
  const done = await Promise.all(runs);
  const watchedMs = done.reduce((sum, [, ms]) => sum + ms!, 0);
  const active = cost(
    'batch-summarize executions from start to end',
    metered.operations.slice(from),
    executions * 2,
    watchedMs / 60_000 / (executions * 2),
    done.reduce((sum, [requests]) => sum + requests!, 0),
  );
  return { idle, active, latency: latencyOf(latencies) };
}
