import { GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../domain/errors.js';
import { compactRate, contextRate, type RateClass, type RateLimit } from '../domain/rate-limits.js';
import { INDEXES, INDEX_SORT_KEY } from './keys.js';

/** An API key as stored: never the key itself. */
export interface ApiKeyRecord {
  readonly keyId: string;
  readonly tenant: string;
  readonly name: string;
  readonly createdAt: string;
  readonly revokedAt?: string;
  /**
   * The tenant has concurrency limits (a copy of its limits item's existence, kept by the keys CLI):
   * the authorizer tells the create function without a read of its own (docs/architecture.md, "Admission").
   */
  readonly limited?: boolean;
  /** The key's own rate limits (stored as `rate_create` / `rate_read`, `quota/seconds`); a class without one uses the service's default. */
  readonly limits?: Partial<Record<RateClass, RateLimit>>;
}

/** A change of a key's limits: a limit to set, or null to go back to the service's default. */
export type LimitsChange = Partial<Record<RateClass, RateLimit | null>>;

const KEY_SK = 'APIKEY';
/** Every key sits in this partition of the by-tenant-keys index (keys only: each item is read after): keys are few, and listing them is an admin task. */
const KEYS_PARTITION = 'APIKEYS';

/** Partition key prefix of API key items (the authorizer may read nothing else). */
export const API_KEY_PK_PREFIX = 'APIKEY#';

const keyPk = (hash: string): string => `${API_KEY_PK_PREFIX}${hash}`;

function fromItem(item: Record<string, unknown>): ApiKeyRecord {
  const create = contextRate(item.rate_create);
  const read = contextRate(item.rate_read);
  return {
    ...(create || read ? { limits: { ...(create ? { create } : {}), ...(read ? { read } : {}) } } : {}),
    keyId: item.id as string,
    tenant: item.tenant as string,
    name: (item.name as string | undefined) ?? '',
    createdAt: item.created_at as string,
    ...(typeof item.revoked_at === 'string' ? { revokedAt: item.revoked_at } : {}),
    ...(item.limited === true ? { limited: true } : {}),
  };
}

/** API keys in the executions table: looked up by the hash of the key, listed and revoked by key id. */
export class ApiKeysRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Stores a key's hash for `tenant`. */
  async put(hash: string, record: Omit<ApiKeyRecord, 'revokedAt'>): Promise<void> {
    const limits = record.limits ?? {};
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: keyPk(hash),
          sk: KEY_SK,
          id: record.keyId,
          tenant: record.tenant,
          name: record.name,
          created_at: record.createdAt,
          ...(record.limited ? { limited: true } : {}),
          ...(limits.create ? { rate_create: compactRate(limits.create) } : {}),
          ...(limits.read ? { rate_read: compactRate(limits.read) } : {}),
          [INDEXES.byTenant.partitionKey]: KEYS_PARTITION,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  /** The active (not revoked) key with this hash, if any. */
  async findActive(hash: string): Promise<ApiKeyRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: keyPk(hash), sk: KEY_SK } }),
    );
    if (!Item || typeof Item.revoked_at === 'string') return undefined;
    return fromItem(Item);
  }

  /**
   * Marks every key of `tenant` limited (or not): what the authorizer passes on, so a create learns
   * whether its tenant has concurrency limits from the key it already reads. Keys the authorizer's
   * cache holds keep their old word until the cache expires (a minute by default).
   * @returns how many keys were marked.
   */
  async markLimited(tenant: string, limited: boolean): Promise<number> {
    const items = await this.itemsOf(tenant);
    for (const item of items) {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: item.pk, sk: KEY_SK },
          // LIMITED is one of DynamoDB's reserved words: named through a placeholder, or every
          // update is refused (ValidationException), so no key of a tenant would learn its limits.
          UpdateExpression: limited ? 'SET #limited = :yes' : 'REMOVE #limited',
          ExpressionAttributeNames: { '#limited': 'limited' },
          ...(limited ? { ExpressionAttributeValues: { ':yes': true } } : {}),
        }),
      );
    }
    return items.length;
  }

  /** Every key (optionally of one tenant), oldest first. */
  async list(tenant?: string): Promise<ApiKeyRecord[]> {
    return (await this.itemsOf(tenant)).map(fromItem);
  }

  private async itemsOf(tenant?: string): Promise<Record<string, unknown>[]> {
    const records: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: INDEXES.byTenant.name,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': INDEXES.byTenant.partitionKey },
          ExpressionAttributeValues: { ':pk': KEYS_PARTITION },
          ...(startKey ? { ExclusiveStartKey: startKey } : {}),
        }),
      );
      // The index holds keys only: read each key's item (a few, for the keys CLI).
      for (const key of result.Items ?? []) {
        const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk } }));
        if (Item) records.push(Item);
      }
      startKey = result.LastEvaluatedKey;
    } while (startKey);
    return tenant === undefined ? records : records.filter((record) => record.tenant === tenant);
  }

  /**
   * Revokes a key by its public id.
   * @throws NotFoundError when no key has this id.
   */
  async revoke(keyId: string, now: string): Promise<ApiKeyRecord> {
    const item = await this.itemOf(keyId);
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: item.pk, sk: KEY_SK },
        UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :now)',
        ExpressionAttributeValues: { ':now': now },
      }),
    );
    return { ...fromItem(item), revokedAt: (item.revoked_at as string | undefined) ?? now };
  }

  /**
   * Sets or clears a key's own rate limits by its public id; classes `change` leaves out keep theirs.
   * The authorizer reads them with the key, so a change applies once API Gateway's cached verdict
   * for the key expires (at most the authorizer cache TTL, a minute by default).
   * @throws NotFoundError when no key has this id.
   */
  async setLimits(keyId: string, change: LimitsChange): Promise<ApiKeyRecord> {
    const item = await this.itemOf(keyId);
    const set: string[] = [];
    const remove: string[] = [];
    const values: Record<string, string> = {};
    for (const name of ['create', 'read'] as const) {
      const limit = change[name];
      if (limit === undefined) continue;
      if (limit === null) remove.push(`rate_${name}`);
      else {
        set.push(`rate_${name} = :${name}`);
        values[`:${name}`] = compactRate(limit);
      }
    }
    if (set.length + remove.length === 0) return fromItem(item);
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: item.pk, sk: KEY_SK },
        UpdateExpression: [set.length ? `SET ${set.join(', ')}` : '', remove.length ? `REMOVE ${remove.join(', ')}` : ''].join(' ').trim(),
        ConditionExpression: 'attribute_exists(pk)',
        ...(set.length ? { ExpressionAttributeValues: values } : {}),
        ReturnValues: 'ALL_NEW',
      }),
    );
    return fromItem(Attributes ?? item);
  }

  /** The stored item of the key with this public id. */
  private async itemOf(keyId: string): Promise<Record<string, unknown>> {
    const { Items } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: INDEXES.byTenant.name,
        KeyConditionExpression: '#pk = :pk AND #id = :id',
        ExpressionAttributeNames: { '#pk': INDEXES.byTenant.partitionKey, '#id': INDEX_SORT_KEY },
        ExpressionAttributeValues: { ':pk': KEYS_PARTITION, ':id': keyId },
      }),
    );
    const key = Items?.[0];
    // The index holds keys only: the item itself is read by them.
    const item = key && (await this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk: key.pk, sk: key.sk }, ConsistentRead: true }))).Item;
    if (!item) throw new NotFoundError(`No API key ${keyId}.`);
    return item;
  }
}
