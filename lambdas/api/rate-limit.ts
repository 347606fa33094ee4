import { TooManyRequestsError } from '../domain/errors.js';
import { contextRate, DEFAULT_RATE_LIMITS, rateLimitHeaders, windowAt, type RateClass } from '../domain/rate-limits.js';
import { addToRateCounter } from '../repository/rate-counters.js';
import { documentClient } from '../shared/dynamodb-client.js';
import { requireEnv } from '../shared/env.js';
import { createLogger } from '../shared/logger.js';
import { tenantOf, type ApiEvent, type Route } from './http.js';

const TABLE = requireEnv('TABLE_NAME');
const logger = createLogger('rate-limit');
/** The service's defaults (`RATE_LIMIT_CREATE`, `RATE_LIMIT_READ`: `quota/seconds`, set by the stack), for keys with none of their own. */
const DEFAULTS = {
  create: contextRate(process.env.RATE_LIMIT_CREATE) ?? DEFAULT_RATE_LIMITS.create,
  read: contextRate(process.env.RATE_LIMIT_READ) ?? DEFAULT_RATE_LIMITS.read,
};

/**
 * Counts `cost` units of `name` against the caller's limit, with one conditional write to a
 * DynamoDB counter shared by every Lambda instance (`addToRateCounter`, a fixed window). The limit
 * is the key's own, which the authorizer put in its context (`rate_create`, `rate_read`: no read
 * here), else the service's default; the counter is the key's (`key`), or with IAM auth (no key)
 * the tenant's. Within the limit, the answer carries `RateLimit` and `RateLimit-Policy`
 * (`event.rateLimit`). Any handler that creates executions calls it with what it creates (a batch:
 * its item count) before it creates anything.
 * @throws TooManyRequestsError (429) when the window has no room for `cost`.
 * Fails open: when the counter cannot be written (DynamoDB unavailable, throttled), the request goes
 * on uncounted, with only `RateLimit-Policy`; a limiter must not turn a blip into an outage.
 */
export async function rateLimit(event: ApiEvent, name: RateClass, cost = 1): Promise<void> {
  const auth = (event.requestContext as { authorizer?: { lambda?: Record<string, unknown> } }).authorizer?.lambda;
  const limit = contextRate(auth?.[`rate_${name}`]) ?? DEFAULTS[name];
  const key = auth?.key;
  const subject = `${typeof key === 'string' && key ? `K#${key}` : `T#${tenantOf(event)}`}#${name}`;
  const { start, reset } = windowAt(Date.now(), limit.window);
  let count: number | undefined;
  try {
    count = await addToRateCounter(documentClient, TABLE, subject, start, limit.window, cost, limit.quota);
  } catch (error) {
    logger.warn('rate counter unavailable; request not counted', { error });
    event.rateLimit = { 'ratelimit-policy': rateLimitHeaders(name, limit, 0, 0)['ratelimit-policy']! };
    return;
  }
  const headers = rateLimitHeaders(name, limit, count === undefined ? 0 : limit.quota - count, reset);
  if (count === undefined) {
    throw new TooManyRequestsError(
      cost > limit.quota
        ? `This request counts ${cost} against the ${name} limit of ${limit.quota} per ${limit.window} s of your API key, more than a window holds: send at most ${limit.quota} at once.`
        : `The ${name} limit of your API key (${limit.quota} per ${limit.window} s) is used up for this window; retry in ${reset} s.`,
      { ...headers, 'retry-after': String(reset) },
    );
  }
  event.rateLimit = headers;
}

/** `routes`, each counting one read against the caller's read limit before it runs. */
export function readLimited(routes: Record<string, Route>): Record<string, Route> {
  return Object.fromEntries(
    Object.entries(routes).map(([key, route]) => [key, async (event, context) => (await rateLimit(event, 'read'), route(event, context))]),
  );
}
