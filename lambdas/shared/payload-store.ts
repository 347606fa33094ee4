import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { isPayloadReference, mustOffload, payloadKey, tenantPrefix, type PayloadReference } from '../domain/payload-limits.js';

/** A reference that names an object outside its tenant's keys, or one the bucket no longer holds. */
export class PayloadReferenceError extends Error {
  override readonly name = 'PayloadReferenceError';
}

/**
 * Writes large values to the payload bucket and reads them back: the one module that moves payload
 * bytes through S3. Values at or under the threshold pass through untouched, so a store is cheap
 * to call on every value.
 */
export class PayloadStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  /**
   * The value as a state, a record or a row should carry it: itself when small, else a reference
   * to `key`, written first (a retried write of the same key overwrites the same bytes).
   */
  async offload(value: unknown, key: string): Promise<unknown> {
    const body = JSON.stringify(value ?? null);
    const bytes = Buffer.byteLength(body);
    if (!mustOffload(value, bytes)) return value;
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: 'application/json' }));
    const reference: PayloadReference = { $payload: { key, bytes } };
    return reference;
  }

  /**
   * An execution input as the record and the state machine carry it. The key is the tenant and the
   * SHA-256 of the JSON, so the same input always gives the same reference: an Idempotency-Key
   * replay still matches its first request, and a retried create rewrites the same object.
   */
  offloadInput(value: unknown, tenant: string): Promise<unknown> {
    const digest = createHash('sha256').update(JSON.stringify(value ?? null)).digest('hex');
    return this.offload(value, payloadKey(tenant, 'inputs', digest));
  }

  /**
   * The plain value of what a state carries: a reference is read from the bucket (it must name one
   * of `tenant`'s objects), anything else is returned as is. The elements of an array (a map's or a
   * parallel's outputs) are resolved one level deep.
   * @throws PayloadReferenceError for a reference outside the tenant's keys or to a missing object.
   */
  async resolve(value: unknown, tenant: string): Promise<unknown> {
    if (Array.isArray(value) && value.some(isPayloadReference)) {
      return Promise.all(value.map((item) => this.resolveOne(item, tenant)));
    }
    return this.resolveOne(value, tenant);
  }

  private async resolveOne(value: unknown, tenant: string): Promise<unknown> {
    if (!isPayloadReference(value)) return value;
    const { key } = value.$payload;
    if (!key.startsWith(tenantPrefix(tenant))) throw new PayloadReferenceError('A payload reference names another tenant’s object.');
    let text: string | undefined;
    try {
      const object = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      text = await object.Body?.transformToString('utf-8');
    } catch (error) {
      if ((error as { name?: string }).name === 'NoSuchKey') throw new PayloadReferenceError(`The payload ${key} no longer exists (expired with the execution's retention?).`);
      throw error;
    }
    if (text === undefined) throw new PayloadReferenceError(`The payload ${key} is empty.`);
    return JSON.parse(text) as unknown;
  }
}
