import { inject } from 'vitest';

/** A JSON response of the local API. */
export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** Execution as the API returns it (the fields the tests read). */
export interface Execution {
  readonly id: string;
  readonly task_id: string;
  readonly status: string;
  readonly input: unknown;
  readonly output: unknown;
  /** A presigned link to an offloaded input (over 64 KiB), else null. */
  readonly input_url: string | null;
  /** A presigned link to an offloaded output, else null. */
  readonly output_url: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly error: string | null;
  readonly error_details: { name: string; message: string; step?: { index: number; name: string } } | null;
  readonly progress: { percentage: number; completed_steps: number; total_steps: number; message: string | null };
  readonly transition_count: number;
  readonly cancel_reason: string | null;
  readonly parent_execution_id: string | null;
  readonly console_url: string;
  readonly status_url: string;
  readonly events_url: string;
  readonly created_at: string;
  readonly started_at: string | null;
  readonly completed_at: string | null;
  /** The schedule it is a run of, or null. */
  readonly schedule_id: string | null;
  /** The execution it replays, or null. */
  readonly replayed_from: string | null;
}

/** Transition as the API returns it. */
export interface Transition {
  readonly id: string;
  readonly seq: number;
  readonly type: string;
  readonly from: string | null;
  readonly to: string;
  readonly output: unknown;
  /** A presigned link to an offloaded value, else null. */
  readonly output_url: string | null;
  readonly step: { readonly index: number; readonly name: string } | null;
  /** Where a nested row ran (`map[3]/branch[1]`); null at the top level. */
  readonly scope: string | null;
  readonly current: { workflow: string; step: number; scope_id: string };
  readonly next: { step: number } | null;
  /** A wait row's resume link (null on other rows). */
  readonly callback_url: string | null;
}

export const baseUrl = (): string => inject('baseUrl');
/** The development key of tenant `default`. */
export const apiKey = (): string => inject('apiKey');

/**
 * Calls the local API as tenant `default` (unless `headers` sets another `authorization`, or
 * `null` to send none) with a JSON body when given, and parses the JSON reply.
 */
export async function api<T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string | null> = {},
): Promise<Reply<T>> {
  const sent: Record<string, string> = { authorization: `Bearer ${apiKey()}` };
  if (body !== undefined) sent['content-type'] = 'application/json';
  for (const [name, value] of Object.entries(headers)) {
    if (value === null) delete sent[name];
    else sent[name] = value;
  }
  const response = await fetch(`${baseUrl()}${path}`, {
    method,
    headers: sent,
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T };
}

/** Starts an execution and returns it (asserting 201). */
export async function start(taskId: string, input: unknown, metadata?: Record<string, unknown>): Promise<Execution> {
  const reply = await api<Execution>('POST', `/tasks/${taskId}/executions`, { input, ...(metadata ? { metadata } : {}) });
  if (reply.status !== 201) throw new Error(`create ${taskId} → ${reply.status}: ${JSON.stringify(reply.body)}`);
  return reply.body;
}

/** Polls an execution until `done` holds (or fails after `timeoutMs`). */
export async function waitFor(
  id: string,
  done: (execution: Execution) => boolean,
  timeoutMs = 15_000,
): Promise<Execution> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await api<Execution>('GET', `/executions/${id}`);
    if (done(body)) return body;
    if (Date.now() > deadline) throw new Error(`execution ${id} stuck at ${body.status}: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Polls until the execution has this status. */
export const waitForStatus = (id: string, status: string, timeoutMs?: number) =>
  waitFor(id, (execution) => execution.status === status, timeoutMs);

/** Every transition of an execution, oldest first. */
export async function transitions(id: string): Promise<Transition[]> {
  const { body } = await api<{ items: Transition[] }>('GET', `/executions/${id}/transitions?limit=100`);
  return body.items;
}
