import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ValidationError } from '../domain/errors.js';
import { isAllowedAddress, webhookUrlProblem, type WebhookUrlPolicy } from '../domain/webhooks.js';

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
}

/**
 * The address to connect to for `url`, decided before any connection: the host's addresses, every
 * one of which must be allowed (a name that also resolves to a private address is refused, whichever
 * the client would pick). The caller connects to the returned address only, so a second resolution
 * cannot swap in another (DNS rebinding).
 * @throws AddressRefusedError when the URL or any of its addresses is not allowed, or the host does not resolve.
 */
export async function resolveEndpoint(url: string, policy: WebhookUrlPolicy, resolver: Resolver): Promise<{ url: URL; address: string }> {
  const problem = webhookUrlProblem(url, policy);
  if (problem) throw new AddressRefusedError(`The URL ${problem}.`);
  const parsed = new URL(url);
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return { url: parsed, address: host };
  let addresses: string[];
  try {
    addresses = await resolver(host);
  } catch {
    throw new AddressRefusedError(`The host ${host} does not resolve.`);
  }
  if (addresses.length === 0) throw new AddressRefusedError(`The host ${host} does not resolve.`);
  const refused = addresses.find((address) => !isAllowedAddress(address, policy));
  if (refused !== undefined) throw new AddressRefusedError(`The host ${host} resolves to ${refused}, which is not a public address.`);
  return { url: parsed, address: addresses[0]! };
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
    if (!error.message.includes('does not resolve')) {
      throw new ValidationError('The webhook URL is not allowed.', [{ path, message: error.message.replace(/^The URL /, '').replace(/\.$/, '') }]);
    }
  }
  return url;
}
