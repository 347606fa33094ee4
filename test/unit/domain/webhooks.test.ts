import fc from 'fast-check';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { EXECUTION_STATUSES, type ExecutionStatus } from '../../../lambdas/domain/status.js';
import {
  DEFAULT_RETRY_SECONDS,
  MAX_RETRY_SECONDS,
  MAX_URL_LENGTH,
  eventTypeOf,
  executionMessageId,
  isAllowedAddress,
  isBlockedAddress,
  isLoopbackAddress,
  newWebhookSecret,
  retryDelaySeconds,
  webhookSignature,
  webhookUrlProblem,
  type WebhookEventType,
} from '../../../lambdas/domain/webhooks.js';

const AWS = { allowLoopback: false } as const;
const LOCAL = { allowLoopback: true } as const;
const SECRET_FORMAT = /^whsec_[A-Za-z0-9+/]{43}=$/;

/** The bytes a `whsec_` secret stands for. */
function secretBytes(secret: string): Buffer {
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

/** The headers a receiver gets for `body` signed now with `secrets`. */
function signedHeaders(secrets: readonly string[], messageId: string, body: string): Record<string, string> {
  const timestamp = Math.floor(Date.now() / 1000);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': webhookSignature(secrets, messageId, timestamp, body),
  };
}

describe('eventTypeOf', () => {
  it.each<[ExecutionStatus | undefined, ExecutionStatus, WebhookEventType]>([
    ['queued', 'running', 'execution.started'],
    ['awaiting_input', 'running', 'execution.resumed'],
    ['running', 'awaiting_input', 'execution.awaiting_input'],
    ['running', 'succeeded', 'execution.succeeded'],
    ['running', 'failed', 'execution.failed'],
    ['running', 'cancelled', 'execution.cancelled'],
    ['queued', 'failed', 'execution.failed'],
    ['queued', 'cancelled', 'execution.cancelled'],
    ['awaiting_input', 'failed', 'execution.failed'],
    ['awaiting_input', 'cancelled', 'execution.cancelled'],
  ])('%s → %s is %s', (from, to, type) => {
    expect(eventTypeOf(from, to)).toBe(type);
  });

  it.each(EXECUTION_STATUSES)('a change that keeps the status %s (a step, a progress update) is no event', (status) => {
    expect(eventTypeOf(status, status)).toBeUndefined();
  });

  it('the creation of a queued record is no event', () => {
    expect(eventTypeOf(undefined, 'queued')).toBeUndefined();
  });

  it('a running record seen without its status before is neither started nor resumed', () => {
    expect(eventTypeOf(undefined, 'running')).toBeUndefined();
  });
});

describe('executionMessageId', () => {
  it('is the same for the same status change and differs from the next one', () => {
    const id = '01936d1e-0000-7000-8000-000000000001';

    expect(executionMessageId(id, 3)).toBe(`msg_${id}_3`);
    expect(executionMessageId(id, 3)).toBe(executionMessageId(id, 3));
    expect(executionMessageId(id, 4)).not.toBe(executionMessageId(id, 3));
  });
});

describe('newWebhookSecret', () => {
  it('is whsec_ and 32 random bytes in base64, different every time', () => {
    const secrets = Array.from({ length: 20 }, () => newWebhookSecret());

    for (const secret of secrets) {
      expect(secret).toMatch(SECRET_FORMAT);
      expect(secretBytes(secret)).toHaveLength(32);
    }
    expect(new Set(secrets).size).toBe(20);
  });
});

describe('webhookSignature', () => {
  const body = JSON.stringify({ type: 'execution.succeeded', timestamp: '2026-01-02T03:04:05.000Z', data: { id: 'e1', output: 'ü ✓' } });

  it('is verified by the standardwebhooks package for the secret it was made with', () => {
    const secret = newWebhookSecret();

    expect(new Webhook(secret).verify(body, signedHeaders([secret], 'msg_e1_4', body))).toEqual(JSON.parse(body));
  });

  it('is the v1 HMAC-SHA256 of "<id>.<timestamp>.<body>" under the secret bytes, as the library signs it', () => {
    const secret = newWebhookSecret();
    const at = new Date('2026-01-02T03:04:05.000Z');

    expect(webhookSignature([secret], 'msg_e1_4', at.getTime() / 1000, body)).toBe(new Webhook(secret).sign('msg_e1_4', at, body));
  });

  it('during a rotation carries one signature per secret, space-separated, so either secret verifies', () => {
    const current = newWebhookSecret();
    const previous = newWebhookSecret();
    const headers = signedHeaders([current, previous], 'msg_e1_4', body);

    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(headers['webhook-signature']).toMatch(/^v1,\S+ v1,\S+$/);
    expect(new Webhook(current).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(previous).verify(body, headers)).toEqual(JSON.parse(body));
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow(/No matching signature/);
  });

  it('fails verification for a tampered body, another message id or another timestamp', () => {
    const secret = newWebhookSecret();
    const headers = signedHeaders([secret], 'msg_e1_4', body);
    const verifier = new Webhook(secret);

    expect(() => verifier.verify(body.replace('succeeded', 'failed'), headers)).toThrow(/No matching signature/);
    expect(() => verifier.verify(body, { ...headers, 'webhook-id': 'msg_e1_5' })).toThrow(/No matching signature/);
    expect(() => verifier.verify(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) })).toThrow(
      /No matching signature/,
    );
  });
});

describe('retryDelaySeconds', () => {
  it('waits the schedule entry of the attempt that failed, from 90 % to 110 % of it as the random source goes from 0 to 1', () => {
    DEFAULT_RETRY_SECONDS.forEach((base, index) => {
      expect(retryDelaySeconds(index + 1, DEFAULT_RETRY_SECONDS, () => 0)).toBe(Math.round(base * 0.9));
      expect(retryDelaySeconds(index + 1, DEFAULT_RETRY_SECONDS, () => 0.5)).toBe(base);
      expect(retryDelaySeconds(index + 1, DEFAULT_RETRY_SECONDS, () => 1)).toBe(Math.round(base * 1.1));
    });
  });

  it('stays within ±10 % of the schedule with the real random source', () => {
    for (let round = 0; round < 200; round++) {
      DEFAULT_RETRY_SECONDS.forEach((base, index) => {
        const delay = retryDelaySeconds(index + 1, DEFAULT_RETRY_SECONDS)!;
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.9));
        expect(delay).toBeLessThanOrEqual(Math.ceil(base * 1.1));
      });
    }
  });

  it('spreads endpoints that failed together: the same attempt gets different waits', () => {
    const delays = new Set(Array.from({ length: 50 }, () => retryDelaySeconds(4, DEFAULT_RETRY_SECONDS)));

    expect(delays.size).toBeGreaterThan(1);
  });

  it('is undefined after the last attempt of the schedule (8 attempts for 7 waits)', () => {
    expect(DEFAULT_RETRY_SECONDS).toEqual([5, 300, 1800, 7200, 18_000, 36_000, 36_000]);
    expect(retryDelaySeconds(7, DEFAULT_RETRY_SECONDS, () => 0.5)).toBe(36_000);
    expect(retryDelaySeconds(8, DEFAULT_RETRY_SECONDS, () => 0.5)).toBeUndefined();
    expect(retryDelaySeconds(50, DEFAULT_RETRY_SECONDS, () => 0.5)).toBeUndefined();
    expect(retryDelaySeconds(1, [], () => 0.5)).toBeUndefined();
  });

  it('is never longer than the 12 hours SQS lets a message stay invisible, nor negative', () => {
    // 12 hours from the receipt, less the 2 minutes an attempt may take before the wait is set.
    expect(MAX_RETRY_SECONDS).toBe(12 * 3600 - 120);
    expect(retryDelaySeconds(1, [MAX_RETRY_SECONDS], () => 0.999999)).toBe(MAX_RETRY_SECONDS);
    expect(retryDelaySeconds(1, [40_000], () => 0.999999)).toBe(MAX_RETRY_SECONDS);
    expect(retryDelaySeconds(1, [-10], () => 0.5)).toBe(0);
    expect(retryDelaySeconds(1, [0], () => 0.999999)).toBe(0);
  });
});

describe('isBlockedAddress and isAllowedAddress', () => {
  it.each([
    ['10.0.0.1', 'private 10/8'],
    ['10.255.255.255', 'private 10/8, its last address'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.254', 'private 172.16/12, near its end'],
    ['192.168.1.1', 'private 192.168/16'],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.7', 'loopback 127/8'],
    ['169.254.169.254', 'the instance metadata service'],
    ['169.254.0.1', 'link-local'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.255', 'carrier-grade NAT, its last address'],
    ['0.0.0.0', 'the unspecified address'],
    ['0.1.2.3', '"this network"'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast (SSDP)'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'IPv6 loopback'],
    ['0:0:0:0:0:0:0:1', 'IPv6 loopback, written out'],
    ['::', 'the IPv6 unspecified address'],
    ['fc00::1', 'unique local fc00::/7'],
    ['fd12:3456:789a::1', 'unique local fd00::/8'],
    ['fe80::1', 'link-local fe80::/10'],
    ['febf::1', 'link-local fe80::/10, its end'],
    ['ff02::1', 'IPv6 multicast'],
    ['2001:db8::1', 'IPv6 documentation'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback, dotted'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, in hex (as URL parsing writes it)'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata service, in hex'],
    ['::ffff:10.1.2.3', 'IPv4-mapped private'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of the metadata service'],
    ['64:ff9b::10.0.0.1', 'NAT64 of a private address, dotted'],
    ['::127.0.0.1', 'IPv4-compatible loopback'],
    ['::7f00:1', 'IPv4-compatible loopback, in hex'],
    ['0:0:0:0:0:0:0:0', 'the IPv6 unspecified address, written out'],
    ['0:0:0:0:0:ffff:7f00:1', 'IPv4-mapped loopback, written out'],
    ['0:0:0:0:0:ffff:a9fe:a9fe', 'IPv4-mapped metadata service, written out'],
    ['0064:ff9b:0000:0000:0000:0000:a9fe:a9fe', 'NAT64 of the metadata service, with leading zeros'],
    ['::FFFF:A9FE:A9FE', 'IPv4-mapped metadata service, upper case'],
    ['::ffff:0:a9fe:a9fe', 'IPv4-translated metadata service'],
    ['::1%lo', 'IPv6 loopback with a zone id'],
    ['64:ff9b::', 'NAT64 of 0.0.0.0, its groups all compressed'],
    ['64:ff9b::a', 'NAT64 of 0.0.0.10, one group'],
    ['2001:0db8:0000::1', 'IPv6 documentation, with leading zeros'],
    ['FE80::1%eth0', 'link-local with a zone id'],
    ['localhost', 'a name, not an address'],
    ['', 'nothing'],
    ['999.1.1.1', 'not an address'],
  ])('blocks %s (%s), also for the local stack unless it is loopback', (address) => {
    expect(isBlockedAddress(address)).toBe(true);
    expect(isAllowedAddress(address, AWS)).toBe(false);
    expect(isAllowedAddress(address, LOCAL)).toBe(isLoopbackAddress(address));
  });

  it.each([
    ['93.184.216.34', 'a public IPv4 address'],
    ['8.8.8.8', 'a public resolver'],
    ['1.1.1.1', 'a public resolver'],
    ['172.32.0.1', 'just past 172.16/12'],
    ['172.15.255.255', 'just before 172.16/12'],
    ['100.128.0.1', 'just past 100.64/10'],
    ['169.255.0.1', 'just past link-local'],
    ['11.0.0.1', 'just past 10/8'],
    ['223.255.255.255', 'just before multicast'],
    ['2606:4700::1', 'a public IPv6 address'],
    ['2a00:1450:4001:80b::200e', 'a public IPv6 address'],
    ['::ffff:93.184.216.34', 'an IPv4-mapped public address'],
    ['64:ff9b::5db8:d822', 'NAT64 of a public address'],
  ])('allows %s (%s)', (address) => {
    expect(isBlockedAddress(address)).toBe(false);
    expect(isAllowedAddress(address, AWS)).toBe(true);
    expect(isAllowedAddress(address, LOCAL)).toBe(true);
  });

  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1'])('allows loopback %s only with the local policy', (address) => {
    expect(isLoopbackAddress(address)).toBe(true);
    expect(isAllowedAddress(address, AWS)).toBe(false);
    expect(isAllowedAddress(address, LOCAL)).toBe(true);
  });

  it.each(['10.0.0.1', '169.254.169.254', 'fd00::1', '::2', '93.184.216.34'])('does not take %s for loopback', (address) => {
    expect(isLoopbackAddress(address)).toBe(false);
  });

  const PRIVATE_BLOCKS: ReadonlyArray<readonly [string, number]> = [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.168.0.0', 16],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ];

  /** An IPv4 address as its four octets. */
  function dotted(value: number): string {
    return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
  }

  const inPrivateBlock = fc
    .record({ block: fc.constantFrom(...PRIVATE_BLOCKS), offset: fc.integer({ min: 0, max: 2 ** 32 - 1 }) })
    .map(({ block: [base, bits], offset }) => {
      const start = base.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
      return dotted(start + (offset % 2 ** (32 - bits)));
    });

  it('blocks every IPv4 address of the private, loopback, link-local, CGNAT and multicast blocks (property)', () => {
    fc.assert(
      fc.property(inPrivateBlock, (address) => {
        expect(isBlockedAddress(address)).toBe(true);
        expect(isAllowedAddress(address, AWS)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('blocks every such address mapped into IPv6, dotted or in hex (property)', () => {
    fc.assert(
      fc.property(inPrivateBlock, (address) => {
        const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
        const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
        for (const mapped of [`::ffff:${address}`, `::ffff:${hex}`, `64:ff9b::${hex}`]) {
          expect(isBlockedAddress(mapped), mapped).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('webhookUrlProblem', () => {
  it.each([
    'https://hooks.example.com/in',
    'https://hooks.example.com:8443/in?token=abc',
    'https://93.184.216.34/in',
    'https://[2606:4700::1]/in',
  ])('accepts %s on AWS', (url) => {
    expect(webhookUrlProblem(url, AWS)).toBeUndefined();
  });

  it.each([
    ['http://hooks.example.com/in', 'must be an https: URL'],
    ['ftp://hooks.example.com/in', 'must be an https: URL'],
    ['https://user:pass@hooks.example.com/in', 'must not carry credentials'],
    ['https://user@hooks.example.com/in', 'must not carry credentials'],
    ['https://hooks.example.com/in#part', 'must not have a fragment'],
    ['https://10.0.0.1/in', 'must not point to a private, loopback or link-local address'],
    ['https://169.254.169.254/latest/meta-data/', 'must not point to a private, loopback or link-local address'],
    ['https://127.0.0.1/in', 'must not point to a private, loopback or link-local address'],
    ['https://[::1]/in', 'must not point to a private, loopback or link-local address'],
    ['https://[::ffff:127.0.0.1]/in', 'must not point to a private, loopback or link-local address'],
    ['https://[fd00::1]/in', 'must not point to a private, loopback or link-local address'],
    ['https://2130706433/in', 'must not point to a private, loopback or link-local address'],
    ['https://0x7f.1/in', 'must not point to a private, loopback or link-local address'],
    ['https://localhost/in', 'must not point to a local host name'],
    ['https://LOCALHOST/in', 'must not point to a local host name'],
    ['https://api.localhost/in', 'must not point to a local host name'],
    ['https://metadata.google.internal/in', 'must not point to a local host name'],
    ['https://printer.local/in', 'must not point to a local host name'],
    [`https://hooks.example.com/${'a'.repeat(MAX_URL_LENGTH)}`, `must be at most ${MAX_URL_LENGTH} characters`],
    ['not a url', 'must be an absolute URL'],
    ['/relative/path', 'must be an absolute URL'],
    ['', 'must be an absolute URL'],
  ])('refuses %s on AWS: %s', (url, problem) => {
    expect(webhookUrlProblem(url, AWS)).toBe(problem);
  });

  it('accepts a URL of exactly the longest length', () => {
    const base = 'https://hooks.example.com/';
    expect(webhookUrlProblem(`${base}${'a'.repeat(MAX_URL_LENGTH - base.length)}`, AWS)).toBeUndefined();
  });

  it.each(['http://127.0.0.1:8080/in', 'http://localhost:8080/in', 'http://[::1]:8080/in', 'https://127.0.0.1/in'])(
    'accepts %s with loopback allowed (the local stack)',
    (url) => {
      expect(webhookUrlProblem(url, LOCAL)).toBeUndefined();
    },
  );

  it.each([
    ['ftp://127.0.0.1/in', 'must be an http: or https: URL'],
    ['http://10.0.0.1/in', 'must not point to a private, loopback or link-local address'],
    ['http://169.254.169.254/in', 'must not point to a private, loopback or link-local address'],
    ['http://user:pass@127.0.0.1/in', 'must not carry credentials'],
  ])('still refuses %s with loopback allowed: %s', (url, problem) => {
    expect(webhookUrlProblem(url, LOCAL)).toBe(problem);
  });
});
