import { describe, expect, it } from 'vitest';
import { ApiProblem, createClient, WaitTimeout, type Execution, type ExecutionEvent } from '../../../client/index.js';

const BASE = 'http://127.0.0.1:9';
const ID = '0190d7a4-5b3c-7d2e-8f1a-2b3c4d5e6f70';

/** A fake service: `handle` answers each request; every request is recorded. */
function fakeService(handle: (request: Request, index: number) => Response | Promise<Response>) {
  const requests: Request[] = [];
  const fetch = async (request: Request) => {
    requests.push(request.clone());
    return handle(request, requests.length - 1);
  };
  return { requests, client: createClient({ baseUrl: BASE, apiKey: 'k', fetch, retry: { sleep: async () => undefined } }) };
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const problem = (status: number, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json', ...headers } });

const execution = (status: Execution['status'], percentage = 0, extra: Partial<Execution> = {}): Execution =>
  ({ id: ID, task_id: 't', status, progress: { percentage, step_name: 'work' }, ...extra }) as Execution;

describe('createClient', () => {
  it('sends the API key and a generated Idempotency-Key with a create, the same key on each retry', async () => {
    const { client, requests } = fakeService((_request, index) =>
      index === 0 ? problem(503, { type: '/problems/service-unavailable', title: 'Unavailable', status: 503, detail: 'x' }, { 'retry-after': '0' }) : json(execution('queued'), 201),
    );

    const created = await client.executions.create('test-noop', { input: { n: 1 } });

    expect(created.status).toBe('queued');
    expect(requests).toHaveLength(2);
    const keys = requests.map((request) => request.headers.get('idempotency-key'));
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
    expect(requests[0]!.headers.get('authorization')).toBe('Bearer k');
    expect(await requests[0]!.json()).toEqual({ task_id: 'test-noop', input: { n: 1 } });
  });

  it('uses the Idempotency-Key it is given', async () => {
    const { client, requests } = fakeService(() => json(execution('queued'), 201));

    await client.executions.create('test-noop', { input: { n: 1 } }, { idempotencyKey: 'my-key' });

    expect(requests[0]!.headers.get('idempotency-key')).toBe('my-key');
  });

  it('throws an ApiProblem carrying the RFC 9457 body of a 400', async () => {
    const body = { type: '/problems/validation-error', title: 'Your request is not valid.', status: 400, detail: 'bad', errors: [{ path: '/input/n', message: 'must be an integer' }] };
    const { client } = fakeService(() => problem(400, body));

    const error = await client.executions.create('test-noop', { input: { n: 'x' } }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(ApiProblem);
    expect((error as ApiProblem).status).toBe(400);
    expect((error as ApiProblem).problem).toEqual(body);
    expect((error as ApiProblem).errors).toEqual(body.errors);
  });

  it('makes a problem of API Gateway\'s own 401 body', async () => {
    const { client } = fakeService(() => json({ message: 'Unauthorized' }, 401));

    const error = (await client.executions.get(ID).catch((caught: unknown) => caught)) as ApiProblem;

    expect(error.problem).toEqual({ type: 'about:blank', title: 'Unauthorized', status: 401, detail: 'Unauthorized' });
  });

  it('creates a batch with a generated Idempotency-Key (the same on a retry), resolving a 207 with every item\'s result', async () => {
    const result = { batch_id: 'b', succeeded: 1, failed: 1, items: [{ index: 0, status: 201, execution: execution('queued') }, { index: 1, status: 404, error: { type: '/problems/not-found', title: 'x', status: 404, detail: 'x' } }] };
    const { client, requests } = fakeService((_request, index) =>
      index === 0 ? problem(503, { type: '/problems/service-unavailable', title: 'Unavailable', status: 503, detail: 'x' }, { 'retry-after': '0' }) : json(result, 207),
    );

    const answered = await client.executions.createBatch([{ task_id: 'test-noop', input: { n: 1 }, tags: ['nightly'] }, { task_id: 'nope', input: {} }]);

    expect(answered).toEqual(result);
    expect(requests.map((request) => request.headers.get('idempotency-key'))).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), requests[0]!.headers.get('idempotency-key')]);
    expect(await requests[1]!.json()).toEqual({ items: [{ task_id: 'test-noop', input: { n: 1 }, tags: ['nightly'] }, { task_id: 'nope', input: {} }] });
  });

  it('throws the problem of a batch none of whose items succeeded, with the items', async () => {
    const body = { type: '/problems/batch-failed', title: 'x', status: 422, detail: 'x', batch_id: 'b', succeeded: 0, failed: 1, items: [{ index: 0, status: 400 }] };
    const { client } = fakeService(() => problem(422, body));

    const error = (await client.executions.createBatch([{ task_id: 'test-noop', input: {} }]).catch((caught: unknown) => caught)) as ApiProblem;

    expect(error.status).toBe(422);
    expect(error.problem).toEqual(body);
  });

  it('replaces an execution\'s tags with a PUT and lists by tag', async () => {
    const { client, requests } = fakeService((request) => (request.method === 'PUT' ? json(execution('succeeded', 100, { tags: ['a'] })) : json({ items: [], next_cursor: null })));

    const tagged = await client.executions.setTags(ID, ['a']);
    for await (const item of client.executions.list({ tag: 'a', status: 'succeeded' })) expect(item).toBeUndefined();

    expect(tagged.tags).toEqual(['a']);
    expect(requests[0]!.method).toBe('PUT');
    expect(new URL(requests[0]!.url).pathname).toBe(`/executions/${ID}/tags`);
    expect(await requests[0]!.json()).toEqual({ tags: ['a'] });
    expect(new URL(requests[1]!.url).search).toBe('?tag=a&status=succeeded');
  });

  it('lists every execution across pages, following next_cursor with the same filters', async () => {
    const pages: Record<string, { items: Execution[]; next_cursor: string | null }> = {
      '': { items: [execution('failed', 0, { id: 'a' })], next_cursor: 'c1' },
      c1: { items: [execution('failed', 0, { id: 'b' }), execution('failed', 0, { id: 'c' })], next_cursor: 'c2' },
      c2: { items: [], next_cursor: null },
    };
    const { client, requests } = fakeService((request) => json(pages[new URL(request.url).searchParams.get('cursor') ?? '']));

    const ids: string[] = [];
    for await (const item of client.executions.list({ status: 'failed', limit: 2 })) ids.push(item.id);

    expect(ids).toEqual(['a', 'b', 'c']);
    expect(requests.map((request) => new URL(request.url).search)).toEqual(['?status=failed&limit=2', '?status=failed&limit=2&cursor=c1', '?status=failed&limit=2&cursor=c2']);
  });

  it('waits with held conditional GETs, reporting each change, until the execution ends', async () => {
    const answers = [
      json(execution('running', 10), 200, { etag: '"2-a"' }),
      new Response(null, { status: 304, headers: { etag: '"2-a"' } }),
      json(execution('running', 60), 200, { etag: '"2-b"' }),
      json(execution('succeeded', 100), 200, { etag: '"4-c"' }),
    ];
    const { client, requests } = fakeService((_request, index) => answers[index]!);
    const seen: number[] = [];

    const done = await client.executions.waitFor(ID, { onProgress: (current) => seen.push(current.progress.percentage) });

    expect(done.status).toBe('succeeded');
    expect(seen).toEqual([10, 60, 100]);
    expect(requests.map((request) => [request.headers.get('if-none-match'), request.headers.get('prefer')])).toEqual([
      [null, null],
      ['"2-a"', 'wait=20'],
      ['"2-a"', 'wait=20'],
      ['"2-b"', 'wait=20'],
    ]);
  });

  it('returns at awaiting_input by default, and waits on through it with until: end', async () => {
    const answers = () => [json(execution('awaiting_input'), 200, { etag: '"3-a"' }), json(execution('succeeded'), 200, { etag: '"5-b"' })];
    const settled = fakeService((_request, index) => answers()[index]!);
    const ended = fakeService((_request, index) => answers()[index]!);

    expect((await settled.client.executions.waitFor(ID)).status).toBe('awaiting_input');
    expect((await ended.client.executions.waitFor(ID, { until: 'end' })).status).toBe('succeeded');
  });

  it('throws WaitTimeout with the last execution seen when timeoutMs passes', async () => {
    const { client } = fakeService(async (request, index) => {
      if (index === 0) return json(execution('running', 30), 200, { etag: '"2-a"' });
      // A held request: answered only when the client gives up on it.
      return new Promise<Response>((_resolve, reject) => request.signal.addEventListener('abort', () => reject(request.signal.reason)));
    });

    const error = await client.executions.waitFor(ID, { timeoutMs: 200 }).catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(WaitTimeout);
    expect((error as WaitTimeout).execution?.progress.percentage).toBe(30);
  });

  it('streams events across responses, reconnecting with Last-Event-ID until end', async () => {
    const bodies = [
      'retry: 1\n\nid: 1\nevent: transition\ndata: {"seq":1}\n\nid: 1\nevent: status\ndata: {"status":"queued"}\n\n',
      'retry: 1\n\n: keep-alive\n\n',
      'retry: 1\n\nid: 2\nevent: transition\ndata: {"seq":2}\n\nid: 2\nevent: status\ndata: {"status":"succeeded"}\n\nid: 2\nevent: end\ndata: {"execution_id":"x","status":"succeeded"}\n\n',
    ];
    const { client, requests } = fakeService((_request, index) => new Response(bodies[index], { headers: { 'content-type': 'text/event-stream' } }));

    const events: ExecutionEvent[] = [];
    for await (const event of client.executions.stream(ID)) events.push(event);

    expect(events.map((event) => `${event.id}:${event.type}`)).toEqual(['1:transition', '1:status', '2:transition', '2:status', '2:end']);
    expect(requests.map((request) => request.headers.get('last-event-id'))).toEqual([null, '1', '1']);
    expect(requests[0]!.headers.get('accept')).toBe('text/event-stream');
  });

  it('reconnects from the last status had, so a drop between a row and its status loses neither, and repeats no row', async () => {
    const bodies = [
      // Dropped after the terminal row, before its status and `end`.
      'retry: 1\n\nid: 1\nevent: transition\ndata: {"seq":1}\n\nid: 1\nevent: status\ndata: {"status":"running"}\n\nid: 2\nevent: transition\ndata: {"seq":2}\n\n',
      'retry: 1\n\nid: 2\nevent: transition\ndata: {"seq":2}\n\nid: 2\nevent: status\ndata: {"status":"succeeded"}\n\nid: 2\nevent: end\ndata: {"execution_id":"x","status":"succeeded"}\n\n',
    ];
    const { client, requests } = fakeService((_request, index) => new Response(bodies[index], { headers: { 'content-type': 'text/event-stream' } }));

    const events: ExecutionEvent[] = [];
    for await (const event of client.executions.stream(ID)) events.push(event);

    expect(events.map((event) => `${event.id}:${event.type}`)).toEqual(['1:transition', '1:status', '2:transition', '2:status', '2:end']);
    expect(requests.map((request) => request.headers.get('last-event-id'))).toEqual([null, '1']);
  });

  it('ends a stream on 204 (nothing can follow), and resumes where it is told', async () => {
    const { client, requests } = fakeService(() => new Response(null, { status: 204 }));

    const events: ExecutionEvent[] = [];
    for await (const event of client.executions.stream(ID, { lastEventId: 6 })) events.push(event);

    expect(events).toEqual([]);
    expect(requests[0]!.headers.get('last-event-id')).toBe('6');
  });

  it('throws the problem of a stream the service refuses', async () => {
    const { client } = fakeService(() => problem(404, { type: '/problems/not-found', title: 'Not found.', status: 404, detail: 'No execution.' }));

    await expect(client.executions.stream(ID).next()).rejects.toMatchObject({ status: 404, detail: 'No execution.' });
  });

  it('schedules: creates, reads, lists page by page, pauses, resumes and deletes through the schedule routes', async () => {
    const schedule = { id: `sch_${'a'.repeat(32)}`, status: 'active' };
    const { client, requests } = fakeService((request) => {
      const url = new URL(request.url);
      if (request.method === 'DELETE') return new Response(null, { status: 204 });
      if (url.pathname === '/schedules' && request.method === 'GET') {
        return json(url.searchParams.get('cursor') ? { items: [{ ...schedule, id: 'second' }], next_cursor: null } : { items: [schedule], next_cursor: 'c1' });
      }
      if (url.pathname.endsWith('/pause')) return json({ ...schedule, status: 'paused' });
      return json(schedule, request.method === 'POST' && url.pathname === '/schedules' ? 201 : 200);
    });

    expect(await client.schedules.create({ task_id: 't', rate: 'rate(5 minutes)', input: { n: 1 } })).toEqual(schedule);
    expect(await client.schedules.get(schedule.id)).toEqual(schedule);
    const ids: string[] = [];
    for await (const item of client.schedules.list()) ids.push(item.id);
    expect(ids).toEqual([schedule.id, 'second']);
    expect((await client.schedules.pause(schedule.id)).status).toBe('paused');
    await client.schedules.resume(schedule.id);
    await client.schedules.delete(schedule.id);

    expect(requests.map((request) => `${request.method} ${new URL(request.url).pathname}${new URL(request.url).search}`)).toEqual([
      'POST /schedules',
      `GET /schedules/${schedule.id}`,
      'GET /schedules',
      'GET /schedules?cursor=c1',
      `POST /schedules/${schedule.id}/pause`,
      `POST /schedules/${schedule.id}/resume`,
      `DELETE /schedules/${schedule.id}`,
    ]);
    expect(await requests[0]!.json()).toEqual({ task_id: 't', rate: 'rate(5 minutes)', input: { n: 1 } });
  });

  it('schedules.delete throws the ApiProblem of a 404', async () => {
    const { client } = fakeService(() => problem(404, { type: '/problems/not-found', title: 'Not found.', status: 404, detail: 'No schedule.' }));
    await expect(client.schedules.delete(`sch_${'0'.repeat(32)}`)).rejects.toMatchObject({ status: 404, detail: 'No schedule.' });
  });
});
