import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sendWebhook, type SendRequest } from '../../../lambdas/webhooks/send.js';

/** What the receiver got. */
interface Received {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

let server: Server;
let port: number;
let received: Received[];
let respond: (request: IncomingMessage, response: ServerResponse) => void;
/** Responses left hanging by a test, ended after it so the server can close. */
const hanging = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ method: request.method, url: request.url, headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      respond(request, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

beforeEach(() => {
  received = [];
  respond = (_request, response) => response.writeHead(204).end();
  for (const response of hanging) response.destroy();
  hanging.clear();
});

afterAll(async () => {
  for (const response of hanging) response.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A request to the local receiver at `url` (default: its own address), pinned to 127.0.0.1. */
function request(overrides: Partial<SendRequest> = {}): SendRequest {
  return {
    url: new URL(`http://127.0.0.1:${port}/hooks/in`),
    address: '127.0.0.1',
    headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' },
    body: '{"type":"webhook.test"}',
    timeoutMs: 2000,
    ...overrides,
  };
}

describe('sendWebhook', () => {
  it('returns a 2xx status and how long the exchange took', async () => {
    respond = (_request, response) => {
      setTimeout(() => response.writeHead(200, { 'content-type': 'text/plain' }).end('ok'), 60);
    };

    const result = await sendWebhook(request());

    expect(result.statusCode).toBe(200);
    expect(result.error).toBeUndefined();
    expect(result.durationMs).toBeGreaterThanOrEqual(50);
    expect(result.durationMs).toBeLessThan(2000);
  });

  it('returns a 500 as a status, not an error', async () => {
    respond = (_request, response) => response.writeHead(500).end('boom');

    const result = await sendWebhook(request());

    expect(result).toMatchObject({ statusCode: 500 });
    expect(result.error).toBeUndefined();
  });

  it('POSTs the body with the given headers and its content-length', async () => {
    const body = JSON.stringify({ type: 'execution.succeeded', data: { text: 'ü ✓' } });

    await sendWebhook(
      request({
        body,
        headers: { 'content-type': 'application/json', 'webhook-id': 'msg_e_3', 'webhook-timestamp': '1767323045', 'webhook-signature': 'v1,abc' },
      }),
    );

    expect(received).toHaveLength(1);
    expect(received[0]).toMatchObject({ method: 'POST', url: '/hooks/in', body });
    expect(received[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': 'msg_e_3',
      'webhook-timestamp': '1767323045',
      'webhook-signature': 'v1,abc',
      'content-length': String(Buffer.byteLength(body)),
    });
  });

  it('connects to the pinned address even when the URL names another host, which it sends as Host', async () => {
    // receiver.test resolves nowhere: the request can only arrive through the pinned address.
    const result = await sendWebhook(request({ url: new URL(`http://receiver.test:${port}/hooks/in`) }));

    expect(result.statusCode).toBe(204);
    expect(received).toHaveLength(1);
    expect(received[0]!.headers.host).toBe(`receiver.test:${port}`);
  });

  it('does not follow a redirect: the 3xx is the result and its target is never asked', async () => {
    respond = (request, response) => {
      if (request.url === '/hooks/in') response.writeHead(307, { location: `http://127.0.0.1:${port}/elsewhere` }).end();
      else response.writeHead(200).end();
    };

    const result = await sendWebhook(request());

    expect(result.statusCode).toBe(307);
    expect(received.map((entry) => entry.url)).toEqual(['/hooks/in']);
  });

  it('gives up with `timeout` within the bound when the server never answers', async () => {
    respond = (_request, response) => {
      hanging.add(response);
    };
    const started = Date.now();

    const result = await sendWebhook(request({ timeoutMs: 300 }));

    expect(result.error).toBe('timeout');
    expect(result.statusCode).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(1500);
    expect(result.durationMs).toBeGreaterThanOrEqual(250);
  });

  it('bounds the whole exchange, a body trickled faster than the idle timeout included', async () => {
    respond = (_request, response) => {
      hanging.add(response);
      response.writeHead(200);
      const drip = setInterval(() => (response.destroyed ? clearInterval(drip) : response.write('.')), 50);
      response.on('close', () => clearInterval(drip));
    };
    const started = Date.now();

    const result = await sendWebhook(request({ timeoutMs: 400 }));

    expect(result.error).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stops reading a large response and still reports its status', async () => {
    respond = (_request, response) => {
      response.writeHead(200);
      response.end(Buffer.alloc(1024 * 1024, 'x'));
    };

    const result = await sendWebhook(request());

    expect(result.statusCode).toBe(200);
  });

  it('reports a refused connection by its code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const result = await sendWebhook(request({ url: new URL(`http://127.0.0.1:${freePort}/`) }));

    expect(result.error).toBe('ECONNREFUSED');
    expect(result.statusCode).toBeUndefined();
  });
});
