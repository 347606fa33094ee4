import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LocalGateway } from '../../../local/gateway.js';
import type { LambdaHost } from '../../../local/lambda-host.js';

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Serves one route whose function answers with `answer` (the function stand-in gets the event). */
async function serve(answer: (event: unknown) => Promise<unknown>, timeoutMs = 30_000): Promise<string> {
  const host = { invoke: (_arn: string, event: unknown) => answer(event) } as unknown as LambdaHost;
  const gateway = new LocalGateway([{ routeKey: 'GET /executions/{id}/events', functionArn: 'arn:events', timeoutMs }], host);
  const server = createServer(gateway.listener);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('the local gateway', () => {
  it('writes a text/event-stream result as the function returned it: status, headers and the body text', async () => {
    const body = 'retry: 500\n\nid: 1\nevent: transition\ndata: {"seq":1}\n\n';
    const url = await serve(async () => ({ statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8' }, body }));

    const response = await fetch(`${url}/executions/abc/events`, { headers: { 'last-event-id': '0' } });

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(await response.text()).toBe(body);
  });

  it('passes the Last-Event-ID header and the path parameter to the function, as API Gateway does', async () => {
    let seen: { headers?: Record<string, string>; pathParameters?: Record<string, string> } = {};
    const url = await serve(async (event) => {
      seen = event as typeof seen;
      return { statusCode: 204 };
    });

    const response = await fetch(`${url}/executions/abc/events`, { headers: { 'Last-Event-ID': '7' } });

    expect(response.status).toBe(204);
    expect(seen.headers?.['last-event-id']).toBe('7');
    expect(seen.pathParameters).toEqual({ id: 'abc' });
  });

  it("answers 503 itself when the function outlasts the integration's timeout, as API Gateway does", async () => {
    const url = await serve(() => new Promise((resolve) => setTimeout(() => resolve({ statusCode: 200, body: 'late' }), 500)), 50);

    const response = await fetch(`${url}/executions/abc/events`);

    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ message: 'Service Unavailable' });
  });
});
