import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ValidationError } from '../domain/errors.js';
import { isAllowedAddress, isLoopbackAddress, webhookUrlProblem, type WebhookUrlPolicy } from '../domain/webhooks.js';

/** Resolves a host name to its addresses (every A and AAAA record). */
export type Resolver = (hostname: string) => Promise<string[]>;

/** The system resolver, as Node's HTTP client would use it. */
export const systemResolver: Resolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

/**
 * The policy of this process: loopback only where the local stack says so (`WEBHOOK_ALLOW_LOOPBACK`,
 * which it sets for its own functions and no template does).
 */
export function policyFromEnv(): WebhookUrlPolicy {
  return { allowLoopback: process.env.WEBHOOK_ALLOW_LOOPBACK === 'true' };
}

/** Why a webhook cannot go where it points. */
export class AddressRefusedError extends Error {
  override readonly name = 'AddressRefused';

  constructor(
    message: string,
    /** What the host resolved to, for the log only. */
    readonly addresses: readonly string[] = [],
  ) {
    super(message);
  }
}

/**
 * The address to connect to for `url`, decided before any connection: the host's addresses, every
 * one of which must be allowed (a name that also resolves to a private address is refused, whichever
 * the client would pick). The caller connects to the returned address only, so a second resolution
 * cannot swap in another (DNS rebinding).
 * @throws AddressRefusedError when the URL or any of its addresses is not allowed, or the host does not resolve.
 */
export async function resolveEndpoint(
  url: string,
  policy: WebhookUrlPolicy,
  resolver: Resolver,
  timeoutMs: number = DEFAULT_RESOLVE_TIMEOUT_MS,
): Promise<{ url: URL; address: string }> {
  const problem = webhookUrlProblem(url, policy);
  if (problem) throw new AddressRefusedError(`The URL ${problem}.`);
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  const addresses = isIP(host) !== 0 ? [host] : await resolveWithin(resolver, host, timeoutMs);
  // Which address was refused stays in the log: an answer naming it would map a private network.
  if (addresses.some((address) => !isAllowedAddress(address, policy))) {
    throw new AddressRefusedError(`The host ${host} resolves to an address that is not public.`, addresses);
  }
  // Plain http only reaches this machine (the local stack's receivers), whatever name it is given.
  if (parsed.protocol === 'http:' && !addresses.every(isLoopbackAddress)) throw new AddressRefusedError('An http: URL must point to this machine (loopback).');
  return { url: parsed, address: addresses[0]! };
}

/** How long a name may take to resolve when no attempt timeout bounds it. */
const DEFAULT_RESOLVE_TIMEOUT_MS = 5_000;

/** The host's addresses, within `timeoutMs`: a slow name server fails its own attempt, not the batch. */
async function resolveWithin(resolver: Resolver, host: string, timeoutMs: number): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AddressRefusedError(`The host ${host} did not resolve within ${timeoutMs} ms.`)), timeoutMs);
  });
  try {
    const addresses = await Promise.race([resolver(host), timeout]);
    if (addresses.length === 0) throw new AddressRefusedError(`The host ${host} does not resolve.`);
    return addresses;
  } catch (error) {
    if (error instanceof AddressRefusedError) throw error;
    throw new AddressRefusedError(`The host ${host} does not resolve.`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks a webhook URL a caller gives (a subscription's `url`, an execution's `webhook_url`):
 * refused with 400 when its text, or an address its host resolves to now, is not allowed. A host
 * that does not resolve yet is accepted: its deliveries fail and are retried until it does.
 * @throws ValidationError (400) naming `path`.
 */
export async function checkWebhookUrl(url: unknown, path: string, policy: WebhookUrlPolicy, resolver: Resolver): Promise<string> {
  if (typeof url !== 'string') throw new ValidationError('The webhook URL is not valid.', [{ path, message: 'must be a string' }]);
  try {
    await resolveEndpoint(url, policy, resolver);
  } catch (error) {
    if (!(error instanceof AddressRefusedError)) throw error;
    if (!/(does|did) not resolve/.test(error.message)) {
      throw new ValidationError('The webhook URL is not allowed.', [{ path, message: error.message.replace(/^The URL /, '').replace(/\.$/, '') }]);
    }
  }
  return url;
}
