import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';

/** What an attempt got back. */
export interface SendResult {
  /** The endpoint's status; absent when no response came. */
  readonly statusCode?: number;
  /** Why no response came: `timeout`, or the connection error's code. */
  readonly error?: string;
  readonly durationMs: number;
}

/** A signed POST to make. */
export interface SendRequest {
  readonly url: URL;
  /** The address to connect to, already checked: the host name is not resolved again. */
  readonly address: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly timeoutMs: number;
}

/** How much of a response body is read (and dropped) before the socket is released. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * POSTs a webhook to one checked address: redirects are not followed (a 3xx is a failed attempt),
 * the whole exchange is bounded by `timeoutMs`, and TLS still verifies the URL's host name.
 */
export function sendWebhook(req: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const family = isIP(req.address);
  const options: RequestOptions = {
    method: 'POST',
    headers: { ...req.headers, 'content-length': String(Buffer.byteLength(req.body)) },
    // Every name resolves to the address checked before: no second lookup to rebind.
    lookup: (_hostname, opts, callback) => {
      if ((opts as { all?: boolean }).all) (callback as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: req.address, family }]);
      else callback(null, req.address, family);
    },
    timeout: req.timeoutMs,
  };
  const send = req.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<SendResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve({ ...result, durationMs: Math.round(performance.now() - started) });
    };
    const call = send(req.url, options, (response) => {
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_RESPONSE_BYTES) response.destroy();
      });
      const done = () => finish({ statusCode: response.statusCode ?? 0 });
      response.on('end', done);
      response.on('close', done);
      response.on('error', done);
    });
    // The socket timeout covers idle gaps; this covers the whole exchange, a slow trickle included.
    const deadline = setTimeout(() => {
      finish({ error: 'timeout' });
      call.destroy();
    }, req.timeoutMs);
    call.on('timeout', () => {
      finish({ error: 'timeout' });
      call.destroy();
    });
    call.on('error', (error: NodeJS.ErrnoException) => finish({ error: error.code ?? error.message }));
    call.end(req.body);
  });
}
