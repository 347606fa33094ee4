import { createHmac, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import type { ExecutionStatus } from './status.js';

/** The execution events a webhook can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'execution.started',
  'execution.awaiting_input',
  'execution.resumed',
  'execution.succeeded',
  'execution.failed',
  'execution.cancelled',
] as const;

/** An execution event a webhook can subscribe to. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The event of a test ping (`POST /webhooks/{id}/test`): sent on request, never subscribed to. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** Subscriptions a tenant may have: every status change reads them all, so they stay one small Query. */
export const MAX_SUBSCRIPTIONS = 20;

/** A subscription's id: `wh_` and 32 hex digits (any other id is unknown, a 404, without a read). */
export const WEBHOOK_ID_PATTERN = /^wh_[0-9a-f]{32}$/;

/** A delivery's id, its message's `webhook-id` (any other id is unknown, a 404, without a read). */
export const DELIVERY_ID_PATTERN = /^msg_[0-9a-z_-]{1,100}$/;

/** The longest webhook URL accepted. */
export const MAX_URL_LENGTH = 2048;

/**
 * Seconds between attempts, after the first (which is immediate): the Standard Webhooks schedule
 * (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), 27 h 35 min 5 s in all, so an endpoint that is down
 * for a day still gets every event. Each wait fits SQS's 12-hour visibility limit.
 */
export const DEFAULT_RETRY_SECONDS: readonly number[] = [5, 300, 1800, 7200, 18_000, 36_000, 36_000];

/**
 * The longest wait between attempts: SQS keeps a received message invisible for at most 12 hours
 * counted from its receipt, and the wait is set after the attempt, up to 2 minutes later.
 */
export const MAX_RETRY_SECONDS = 43_200 - 120;

/** The most waits a schedule may have: each attempt is counted on the delivery, which allows 50. */
export const MAX_RETRY_WAITS = 20;

/** How long a rotated-out secret still signs (beside the new one), so receivers can switch without losing events. */
export const ROTATION_OVERLAP_SECONDS = 24 * 3600;

/**
 * The event a status change of an execution is, or undefined when it is none (the same status, or
 * the creation of a queued record). `execution.started` is the first `running`; a `running` after a
 * wait is `execution.resumed`.
 */
export function eventTypeOf(from: ExecutionStatus | undefined, to: ExecutionStatus): WebhookEventType | undefined {
  if (from === to) return undefined;
  switch (to) {
    case 'running':
      return from === 'awaiting_input' ? 'execution.resumed' : from === 'queued' ? 'execution.started' : undefined;
    case 'awaiting_input':
      return 'execution.awaiting_input';
    case 'succeeded':
    case 'failed':
    case 'cancelled':
      return `execution.${to}`;
    default:
      return undefined;
  }
}

/**
 * The `webhook-id` of an execution event: the same for every attempt and every duplicate of the
 * status change (the transition count is the record's version), so receivers can drop repeats.
 * Sorted like execution ids: newest executions' events list first in reverse order.
 */
export function executionMessageId(executionId: string, transitionCount: number): string {
  return `msg_${executionId}_${transitionCount}`;
}

/** A new signing secret, as Standard Webhooks writes them: `whsec_` and 32 random bytes in base64. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

/**
 * The `webhook-signature` header of a message (Standard Webhooks `v1`): HMAC-SHA256 of
 * `<id>.<timestamp>.<body>` under each secret's bytes (base64 after `whsec_`), space-separated,
 * so a receiver that knows either secret of a rotation accepts it.
 */
export function webhookSignature(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): string {
  const content = `${messageId}.${timestampSeconds}.${body}`;
  return secrets
    .map((secret) => `v1,${createHmac('sha256', Buffer.from(secret.replace(/^whsec_/, ''), 'base64')).update(content).digest('base64')}`)
    .join(' ');
}

/**
 * How long to wait before attempt `attempt + 1` after attempt `attempt` (1-based) failed, with
 * ±10 % jitter so endpoints that failed together are not retried together; undefined when
 * `attempt` was the last.
 */
export function retryDelaySeconds(attempt: number, schedule: readonly number[], random: () => number = Math.random): number | undefined {
  const base = schedule[attempt - 1];
  if (base === undefined) return undefined;
  const jittered = Math.round(base * (0.9 + 0.2 * random()));
  return Math.min(MAX_RETRY_SECONDS, Math.max(0, jittered));
}

/** Where webhooks may go: on AWS only public HTTPS endpoints; the local stack also allows loopback over HTTP. */
export interface WebhookUrlPolicy {
  /** Allow `http:` and loopback addresses (the local stack's receivers). */
  readonly allowLoopback: boolean;
}

const IPV4_BLOCKS: ReadonlyArray<readonly [string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local: the instance metadata service lives here
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
];

function ipv4Number(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}

function inIpv4Block(address: string, [base, bits]: readonly [string, number]): boolean {
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4Number(address) / size) === Math.floor(ipv4Number(base) / size);
}

/**
 * An IPv6 address as URL parsing writes it (lower case, zeros compressed, an embedded IPv4 address
 * in hex, no zone id), so every spelling of one address is checked alike: `0:0:0:0:0:ffff:7f00:1`
 * and `::ffff:127.0.0.1` are `::ffff:7f00:1`. IPv4 addresses as given; undefined for anything else.
 */
function canonicalAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 4) return address;
  if (family !== 6) return undefined;
  try {
    return new URL(`http://[${address.replace(/%.*$/, '')}]/`).hostname.slice(1, -1);
  } catch {
    return undefined;
  }
}

/** The eight 16-bit groups of a canonical IPv6 address. */
function hextets(address: string): number[] {
  const [head = '', tail] = address.split('::');
  const groups = (part: string) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  if (tail === undefined) return groups(head);
  const left = groups(head);
  const right = groups(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The first six groups of IPv6 addresses whose last two are an IPv4 address. */
const IPV4_CARRYING_PREFIXES: readonly (readonly number[])[] = [
  [0, 0, 0, 0, 0, 0xffff], // ::ffff:0:0/96, mapped
  [0, 0, 0, 0, 0xffff, 0], // ::ffff:0:0:0/96, translated
  [0x64, 0xff9b, 0, 0, 0, 0], // 64:ff9b::/96, NAT64
  [0, 0, 0, 0, 0, 0], // ::/96, compatible (deprecated)
];

/**
 * The IPv4 address a canonical IPv6 address maps, translates or embeds (`::ffff:a.b.c.d`,
 * `::ffff:0:a.b.c.d`, `64:ff9b::a.b.c.d`, `::a.b.c.d`), if any.
 */
function embeddedIpv4(address: string): string | undefined {
  const groups = hextets(address);
  if (!IPV4_CARRYING_PREFIXES.some((prefix) => prefix.every((group, index) => groups[index] === group))) return undefined;
  const [high = 0, low = 0] = groups.slice(6);
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** True for loopback addresses (`127.0.0.0/8`, `::1`, and IPv6 forms of `127.0.0.0/8`). */
export function isLoopbackAddress(given: string): boolean {
  const address = canonicalAddress(given);
  if (address === undefined) return false;
  if (address === '::1') return true;
  const v4 = isIP(address) === 4 ? address : embeddedIpv4(address);
  return v4 !== undefined && inIpv4Block(v4, ['127.0.0.0', 8]);
}

/**
 * True when a webhook must not be sent to `address`: anything but a public unicast address
 * (private, loopback, link-local and metadata, CGNAT, multicast, documentation, unique-local IPv6,
 * and IPv6 forms that embed one of those IPv4 addresses).
 */
export function isBlockedAddress(given: string): boolean {
  const address = canonicalAddress(given);
  if (address === undefined) return true;
  // `::` and `::1` embed 0.0.0.0 and 0.0.0.1 ("this network"): blocked with the IPv4 addresses.
  const v4 = isIP(address) === 4 ? address : embeddedIpv4(address);
  if (v4) return IPV4_BLOCKS.some((block) => inIpv4Block(v4, block));
  const [first = 0, second = 0] = hextets(address);
  // fc00::/7 unique local, fe80::/10 link-local, ff00::/8 multicast, 2001:db8::/32 documentation.
  return (first & 0xfe00) === 0xfc00 || (first & 0xffc0) === 0xfe80 || (first & 0xff00) === 0xff00 || (first === 0x2001 && second === 0xdb8);
}

/** True when the policy lets a webhook go to `address`. */
export function isAllowedAddress(address: string, policy: WebhookUrlPolicy): boolean {
  return !isBlockedAddress(address) || (policy.allowLoopback && isLoopbackAddress(address));
}

/**
 * Why `text` cannot be a webhook URL, or undefined when it can as far as its text tells (its host's
 * addresses are checked when it is resolved): an absolute `https:` URL (`http:` too with loopback
 * allowed) without credentials or fragment, whose host, when an IP address, is allowed.
 */
export function webhookUrlProblem(text: string, policy: WebhookUrlPolicy): string | undefined {
  if (text.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'https:' && !(policy.allowLoopback && url.protocol === 'http:')) {
    return policy.allowLoopback ? 'must be an http: or https: URL' : 'must be an https: URL';
  }
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isAllowedAddress(host, policy)) return 'must not point to a private, loopback or link-local address';
  if (/^(localhost|.*\.localhost|.*\.internal|.*\.local)$/i.test(host) && !policy.allowLoopback) {
    return 'must not point to a local host name';
  }
  return undefined;
}
