import { GetObjectCommand, PutObjectCommand, S3Client, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { OFFLOAD_THRESHOLD_BYTES, isPayloadReference, jsonBytes, payloadKey } from '../../../lambdas/domain/payload-limits.js';
import { toExecutionView, toTransitionView } from '../../../lambdas/domain/views.js';
import { PAYLOAD_URL_SECONDS, PayloadLinks } from '../../../lambdas/shared/payload-links.js';
import { PayloadReferenceError, PayloadStore } from '../../../lambdas/shared/payload-store.js';
import { jsonish, withPrototypeKeys } from '../../fuzz/support/arbitraries.js';
import { transitionRecord } from '../support/records.js';
import { unitRecord } from '../support/unit-task.js';

const s3 = mockClient(S3Client);
/** What the mocked bucket holds, by key. */
let objects: Map<string, string>;

beforeEach(() => {
  s3.reset();
  objects = new Map();
  s3.on(PutObjectCommand).callsFake((input: { Key: string; Body: string }) => {
    objects.set(input.Key, input.Body);
    return {};
  });
  s3.on(GetObjectCommand).callsFake((input: { Key: string }) => {
    const text = objects.get(input.Key);
    if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
    return { Body: { transformToString: () => Promise.resolve(text) } as unknown as GetObjectCommandOutput['Body'] };
  });
});

const store = () => new PayloadStore(new S3Client({ region: 'us-east-1' }), 'payloads');
const TENANT = 'tenant-ü/1';

/** A string whose JSON (with its quotes) is exactly `bytes` of UTF-8, built from `unit` (1 to 4 bytes each) and padding. */
function stringOfBytes(bytes: number, unit: string): string {
  const unitBytes = Buffer.byteLength(unit);
  const count = Math.max(0, Math.floor((bytes - 2) / unitBytes));
  const body = unit.repeat(count);
  return body + 'a'.repeat(Math.max(0, bytes - jsonBytes(body)));
}

describe('PayloadStore', () => {
  it('round-trips hostile values of every size near the threshold: offloaded exactly when over it, read back as the same JSON', async () => {
    const nearThreshold = fc
      .tuple(fc.integer({ min: -40, max: 40 }), fc.constantFrom('a', 'é', '😀', '\u0000', '"', '\\', '\u2028', '\ud800'))
      .map(([delta, unit]) => stringOfBytes(OFFLOAD_THRESHOLD_BYTES + delta, unit));
    const values = fc.oneof(
      nearThreshold,
      fc.tuple(nearThreshold, withPrototypeKeys(jsonish)).map(([text, object]) => ({ ...object, text })),
      fc.array(nearThreshold, { maxLength: 2 }),
      withPrototypeKeys(jsonish),
    );
    await fc.assert(
      fc.asyncProperty(values, async (raw) => {
        // As a handler's return value reaches the runtime: JSON values (JSON.parse keeps `__proto__` an own key).
        const value = JSON.parse(JSON.stringify(raw)) as unknown;
        const bytes = jsonBytes(value);
        const carried = await store().offload(value, payloadKey(TENANT, 'e1', 'step'));
        expect(isPayloadReference(carried)).toBe(bytes > OFFLOAD_THRESHOLD_BYTES);
        if (isPayloadReference(carried)) expect(carried.$payload.bytes).toBe(bytes);
        const resolved = await store().resolve(carried, TENANT);
        expect(JSON.stringify(resolved)).toBe(JSON.stringify(value));
      }),
      { numRuns: 150 },
    );
  });

  it('offloads a value that only looks like a reference, and hands the same value back', async () => {
    const forged = { $payload: { key: payloadKey('other', 'e', 'x'), bytes: 3 } };

    const carried = await store().offload(forged, payloadKey(TENANT, 'e1', 'step'));

    expect(carried).toEqual({ $payload: { key: payloadKey(TENANT, 'e1', 'step'), bytes: jsonBytes(forged) } });
    expect(await store().resolve(carried, TENANT)).toEqual(forged);
  });

  it('resolves the references among an array\'s elements (a map\'s or a parallel\'s outputs), one level deep', async () => {
    const big = { text: 'x'.repeat(OFFLOAD_THRESHOLD_BYTES) };
    const first = await store().offload(big, payloadKey(TENANT, 'e1', 'a'));

    expect(await store().resolve([first, { small: true }], TENANT)).toEqual([big, { small: true }]);
  });

  it('refuses a reference outside the tenant\'s keys, without reading it', async () => {
    const reference = { $payload: { key: payloadKey('someone-else', 'e1', 'step'), bytes: 10 } };

    await expect(store().resolve(reference, TENANT)).rejects.toBeInstanceOf(PayloadReferenceError);
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('refuses a key that only starts like the tenant\'s (the prefix ends with its slash)', async () => {
    const reference = { $payload: { key: `${encodeURIComponent(TENANT)}x/e1/step.json`, bytes: 10 } };

    await expect(store().resolve(reference, TENANT)).rejects.toBeInstanceOf(PayloadReferenceError);
  });

  it('names an object the bucket no longer holds (expired) as a PayloadReferenceError', async () => {
    const reference = { $payload: { key: payloadKey(TENANT, 'gone', 'step'), bytes: 10 } };

    await expect(store().resolve(reference, TENANT)).rejects.toThrow(/no longer exists/);
  });

  it('keys an input by its content, so the same input gives the same reference', async () => {
    const input = { text: 'y'.repeat(OFFLOAD_THRESHOLD_BYTES) };

    const [a, b] = [await store().offloadInput(input, TENANT), await store().offloadInput(JSON.parse(JSON.stringify(input)), TENANT)];

    expect(a).toEqual(b);
    expect(isPayloadReference(a) && a.$payload.key.startsWith(`${encodeURIComponent(TENANT)}/inputs/`)).toBe(true);
  });
});

describe('PayloadLinks', () => {
  const links = new PayloadLinks(new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' } }), 'payloads');

  it('signs a GET of the referenced object, valid for 15 minutes, without calling S3', async () => {
    const url = new URL((await links.urlOf({ $payload: { key: 'default/e1/step.json', bytes: 70_000 } }))!);

    expect(url.pathname).toContain('default/e1/step.json');
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(PAYLOAD_URL_SECONDS));
    expect(PAYLOAD_URL_SECONDS).toBe(900);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(s3).not.toHaveReceivedAnyCommand();
  });

  it('gives no link for an inline value', async () => {
    expect(await links.urlOf({ text: 'small' })).toBeNull();
    expect(await links.of({ input: { n: 1 }, output: null })).toEqual({ input: null, output: null });
  });
});

describe('views of offloaded values', () => {
  const reference = { $payload: { key: 'default/e1/step.json', bytes: 70_000 } };
  const links = { apiBaseUrl: 'https://api.example.com', region: 'us-east-1' };

  it('show an offloaded input and output as null with the links given, never the reference', () => {
    const view = toExecutionView(unitRecord({ input: reference, output: reference }), links, { input: 'https://s3/in', output: 'https://s3/out' });

    expect(view).toMatchObject({ input: null, output: null, input_url: 'https://s3/in', output_url: 'https://s3/out' });
    expect(JSON.stringify(view)).not.toContain('$payload');
  });

  it('show inline values as they are, with null links', () => {
    const view = toExecutionView(unitRecord({ input: { n: 1 }, output: { ok: true } }), links);

    expect(view).toMatchObject({ input: { n: 1 }, output: { ok: true }, input_url: null, output_url: null });
  });

  it('show a transition row\'s offloaded value as null with its link', () => {
    const view = toTransitionView(transitionRecord(unitRecord(), { output: reference }), null, 'https://s3/row');

    expect(view).toMatchObject({ output: null, output_url: 'https://s3/row' });
  });
});
