import { randomUUID } from 'node:crypto';

/** Where the local stack pretends its events come from. */
export interface EventOrigin {
  readonly account: string;
  readonly region: string;
}

/** An EventBridge event as a rule's target receives it. */
export function eventEnvelope<D>(
  origin: EventOrigin,
  detailType: string,
  source: string,
  resources: readonly string[],
  detail: D,
) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': detailType,
    source,
    account: origin.account,
    time: new Date().toISOString(),
    region: origin.region,
    resources: [...resources],
    detail,
  };
}
