import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '../../../lambdas/domain/errors.js';
import { ApiKeysRepository, type ApiKeyRecord } from '../../../lambdas/repository/api-keys-repository.js';

const ddb = mockClient(DynamoDBDocumentClient);

const TABLE = 'keys-table';
const HASH = 'a'.repeat(64);
const CREATED = '2026-01-02T03:04:05.000Z';
const NOW = '2026-02-03T04:05:06.000Z';

/** A stored key item as the repository writes it. */
function keyItem(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    // One item per hash: another key id gets another hash.
    pk: overrides.id === undefined ? `APIKEY#${HASH}` : `APIKEY#${String(overrides.id)}`,
    sk: 'APIKEY',
    id: 'k000000001',
    tenant: 'acme',
    name: 'ci',
    created_at: CREATED,
    tenant_key: 'APIKEYS',
    ...overrides,
  };
}

/** The Query every listing and revocation sends to the by-tenant-keys index. */
const LIST_QUERY = {
  TableName: TABLE,
  IndexName: 'by-tenant-keys',
  KeyConditionExpression: '#pk = :pk',
  ExpressionAttributeNames: { '#pk': 'tenant_key' },
  ExpressionAttributeValues: { ':pk': 'APIKEYS' },
};

let keys: ApiKeysRepository;

/**
 * The index holds keys only, so the repository reads each key's item after the Query: a GetItem
 * answers with the item (of that pk) a Query of this test answered with, as the table would.
 */
function servesItemsOfQueries(): void {
  ddb.on(GetCommand).callsFake(async (input: { Key: { pk: string; sk: string } }) => {
    for (const call of ddb.commandCalls(QueryCommand)) {
      const output = (await call.returnValue) as { Items?: Record<string, unknown>[] } | undefined;
      const item = output?.Items?.find((candidate) => candidate.pk === input.Key.pk && candidate.sk === input.Key.sk);
      if (item) return { Item: item };
    }
    return {};
  });
}

beforeEach(() => {
  ddb.reset();
  servesItemsOfQueries();
  keys = new ApiKeysRepository(DynamoDBDocumentClient.from(new DynamoDBClient({})), TABLE);
});

describe('put', () => {
  it('stores the hash as the key of a new item, never the key, in the APIKEYS partition of the by-tenant-keys index', async () => {
    ddb.on(PutCommand).resolves({});

    await keys.put(HASH, { keyId: 'k000000001', tenant: 'acme', name: 'ci', createdAt: CREATED });

    expect(ddb).toHaveReceivedCommandExactlyOnceWith(PutCommand, {
      TableName: TABLE,
      Item: {
        pk: `APIKEY#${HASH}`,
        sk: 'APIKEY',
        id: 'k000000001',
        tenant: 'acme',
        name: 'ci',
        created_at: CREATED,
        tenant_key: 'APIKEYS',
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
  });

  it('lets the condition failure of a hash stored before propagate (nothing is overwritten)', async () => {
    ddb.on(PutCommand).rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));

    await expect(keys.put(HASH, { keyId: 'k000000001', tenant: 'acme', name: '', createdAt: CREATED })).rejects.toBeInstanceOf(
      ConditionalCheckFailedException,
    );
  });
});

describe('findActive', () => {
  it('gets the item keyed by the hash and maps it to a key record', async () => {
    ddb.on(GetCommand).resolves({ Item: keyItem() });

    const found = await keys.findActive(HASH);

    expect(found).toEqual<ApiKeyRecord>({ keyId: 'k000000001', tenant: 'acme', name: 'ci', createdAt: CREATED });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(GetCommand, {
      TableName: TABLE,
      Key: { pk: `APIKEY#${HASH}`, sk: 'APIKEY' },
    });
  });

  it('finds no key for an unknown hash', async () => {
    ddb.on(GetCommand).resolves({});

    expect(await keys.findActive(HASH)).toBeUndefined();
  });

  it('finds no key once it is revoked', async () => {
    ddb.on(GetCommand).resolves({ Item: keyItem({ revoked_at: NOW }) });

    expect(await keys.findActive(HASH)).toBeUndefined();
  });

  it('reads a key stored without a name as an empty name', async () => {
    const { name: _name, ...unnamed } = keyItem();
    ddb.on(GetCommand).resolves({ Item: unnamed });

    expect(await keys.findActive(HASH)).toMatchObject({ name: '' });
  });
});

describe('list', () => {
  it('queries the APIKEYS partition of the by-tenant-keys index and returns every key, revoked ones marked', async () => {
    ddb.on(QueryCommand).resolves({
      Items: [keyItem(), keyItem({ pk: 'APIKEY#b', id: 'k000000002', tenant: 'beta', name: 'ops', revoked_at: NOW })],
    });

    const listed = await keys.list();

    expect(listed).toEqual<ApiKeyRecord[]>([
      { keyId: 'k000000001', tenant: 'acme', name: 'ci', createdAt: CREATED },
      { keyId: 'k000000002', tenant: 'beta', name: 'ops', createdAt: CREATED, revokedAt: NOW },
    ]);
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(QueryCommand, LIST_QUERY);
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).not.toHaveProperty('ExclusiveStartKey');
  });

  it('follows LastEvaluatedKey until the last page', async () => {
    const second = { pk: 'APIKEY#b', sk: 'APIKEY', tenant_key: 'APIKEYS', id: 'k000000002' };
    const third = { pk: 'APIKEY#c', sk: 'APIKEY', tenant_key: 'APIKEYS', id: 'k000000003' };
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [keyItem()], LastEvaluatedKey: second })
      .resolvesOnce({ Items: [keyItem({ id: 'k000000002' })], LastEvaluatedKey: third })
      .resolvesOnce({ Items: [keyItem({ id: 'k000000003' })] });

    const listed = await keys.list();

    expect(listed.map((key) => key.keyId)).toEqual(['k000000001', 'k000000002', 'k000000003']);
    expect(ddb).toHaveReceivedCommandTimes(QueryCommand, 3);
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 2, { ...LIST_QUERY, ExclusiveStartKey: second });
    expect(ddb).toHaveReceivedNthCommandWith(QueryCommand, 3, { ...LIST_QUERY, ExclusiveStartKey: third });
  });

  it('keeps only the keys of the tenant asked for, across pages', async () => {
    ddb
      .on(QueryCommand)
      .resolvesOnce({ Items: [keyItem(), keyItem({ id: 'k000000002', tenant: 'beta' })], LastEvaluatedKey: { pk: 'x' } })
      .resolvesOnce({ Items: [keyItem({ id: 'k000000003', tenant: 'beta' })] });

    const listed = await keys.list('beta');

    expect(listed.map((key) => [key.keyId, key.tenant])).toEqual([
      ['k000000002', 'beta'],
      ['k000000003', 'beta'],
    ]);
  });

  it('lists nothing when the index has no keys (no Items at all)', async () => {
    ddb.on(QueryCommand).resolves({});

    expect(await keys.list()).toEqual([]);
    expect(await keys.list('acme')).toEqual([]);
  });
});

describe('revoke', () => {
  it('finds the key by its id on the index, then sets revoked_at on the item of its hash', async () => {
    ddb.on(QueryCommand).resolves({ Items: [keyItem()] });
    ddb.on(UpdateCommand).resolves({});

    const revoked = await keys.revoke('k000000001', NOW);

    expect(revoked).toEqual<ApiKeyRecord>({ keyId: 'k000000001', tenant: 'acme', name: 'ci', createdAt: CREATED, revokedAt: NOW });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(QueryCommand, {
      TableName: TABLE,
      IndexName: 'by-tenant-keys',
      KeyConditionExpression: '#pk = :pk AND #id = :id',
      ExpressionAttributeNames: { '#pk': 'tenant_key', '#id': 'id' },
      ExpressionAttributeValues: { ':pk': 'APIKEYS', ':id': 'k000000001' },
    });
    // The index holds keys only: the item is read by them, strongly consistent.
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { TableName: TABLE, Key: { pk: `APIKEY#${HASH}`, sk: 'APIKEY' }, ConsistentRead: true });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: `APIKEY#${HASH}`, sk: 'APIKEY' },
      UpdateExpression: 'SET revoked_at = if_not_exists(revoked_at, :now)',
      ExpressionAttributeValues: { ':now': NOW },
    });
  });

  it('keeps the first revocation time when the key was revoked before', async () => {
    const earlier = '2026-01-15T00:00:00.000Z';
    ddb.on(QueryCommand).resolves({ Items: [keyItem({ revoked_at: earlier })] });
    ddb.on(UpdateCommand).resolves({});

    const revoked = await keys.revoke('k000000001', NOW);

    expect(revoked.revokedAt).toBe(earlier);
  });

  it('throws NotFoundError for an unknown key id and updates nothing', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await expect(keys.revoke('k999999999', NOW)).rejects.toBeInstanceOf(NotFoundError);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('throws NotFoundError when the index answers without Items', async () => {
    ddb.on(QueryCommand).resolves({});

    await expect(keys.revoke('k999999999', NOW)).rejects.toThrow(/No API key k999999999/);
  });
});

describe('markLimited', () => {
  it('marks every key of the tenant (and only its keys) limited, and unmarks them', async () => {
    ddb.on(QueryCommand, LIST_QUERY).resolves({
      Items: [keyItem(), keyItem({ pk: `APIKEY#${'b'.repeat(64)}`, id: 'k000000002' }), keyItem({ pk: `APIKEY#${'c'.repeat(64)}`, tenant: 'other' })],
    });
    ddb.on(UpdateCommand).resolves({});

    expect(await keys.markLimited('acme', true)).toBe(2);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { pk: `APIKEY#${HASH}`, sk: 'APIKEY' }, UpdateExpression: 'SET #limited = :yes', ExpressionAttributeNames: { '#limited': 'limited' }, ExpressionAttributeValues: { ':yes': true } });
    expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, { Key: { pk: `APIKEY#${'c'.repeat(64)}`, sk: 'APIKEY' } });

    ddb.resetHistory();
    await keys.markLimited('acme', false);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, { Key: { pk: `APIKEY#${HASH}`, sk: 'APIKEY' }, UpdateExpression: 'REMOVE #limited', ExpressionAttributeNames: { '#limited': 'limited' } });
  });

  it('reads the mark back with the key: the authorizer learns it from the one GetItem it makes', async () => {
    ddb.on(GetCommand).resolves({ Item: keyItem({ limited: true }) });

    expect(await keys.findActive(HASH)).toMatchObject({ tenant: 'acme', limited: true });
  });
});

describe('rate limits of a key', () => {
  it('stores a new key\'s own limits in their compact form, and reads them back', async () => {
    ddb.on(PutCommand).resolves({});

    await keys.put(HASH, { keyId: 'k000000001', tenant: 'acme', name: 'ci', createdAt: CREATED, limits: { create: { quota: 10, window: 1 }, read: { quota: 600, window: 60 } } });

    expect(ddb).toHaveReceivedCommandWith(PutCommand, { Item: expect.objectContaining({ rate_create: '10/1', rate_read: '600/60' }) });
    ddb.on(GetCommand).resolves({ Item: keyItem({ rate_create: '10/1', rate_read: '600/60' }) });
    expect((await keys.findActive(HASH))?.limits).toEqual({ create: { quota: 10, window: 1 }, read: { quota: 600, window: 60 } });
  });

  it('reads a stored limit it cannot parse as none, so the default applies', async () => {
    ddb.on(GetCommand).resolves({ Item: keyItem({ rate_create: 'lots', rate_read: 7 }) });

    expect(await keys.findActive(HASH)).not.toHaveProperty('limits');
  });

  it('sets one class and clears the other by the key id, keeping the item otherwise', async () => {
    ddb.on(QueryCommand).resolves({ Items: [keyItem({ rate_read: '5/1' })] });
    ddb.on(UpdateCommand).resolves({ Attributes: keyItem({ rate_create: '3/10' }) });

    const record = await keys.setLimits('k000000001', { create: { quota: 3, window: 10 }, read: null });

    expect(record.limits).toEqual({ create: { quota: 3, window: 10 } });
    expect(ddb).toHaveReceivedCommandExactlyOnceWith(UpdateCommand, {
      TableName: TABLE,
      Key: { pk: `APIKEY#${HASH}`, sk: 'APIKEY' },
      UpdateExpression: 'SET rate_create = :create REMOVE rate_read',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':create': '3/10' },
      ReturnValues: 'ALL_NEW',
    });
  });

  it('only shows the limits when asked to change nothing', async () => {
    ddb.on(QueryCommand).resolves({ Items: [keyItem({ rate_read: '5/1' })] });

    const record = await keys.setLimits('k000000001', {});

    expect(record.limits).toEqual({ read: { quota: 5, window: 1 } });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });

  it('throws NotFoundError for an unknown key id', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });

    await expect(keys.setLimits('k999999999', { create: null })).rejects.toBeInstanceOf(NotFoundError);
  });
});
