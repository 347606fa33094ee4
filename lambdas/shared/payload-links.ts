import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { isPayloadReference } from '../domain/payload-limits.js';

/**
 * How long a presigned `input_url` / `output_url` works: 15 minutes. Short, because the link is a
 * bearer credential for the value (anyone holding it can read it); a client that needs the value
 * later reads the execution again for a fresh link.
 */
export const PAYLOAD_URL_SECONDS = 15 * 60;

/** The presigned links of a view's offloaded values (null where the value is inline). */
export interface PayloadUrls {
  readonly input?: string | null;
  readonly output?: string | null;
}

/**
 * Mints the short-lived GET links of offloaded values. Signing is local (no call to S3), so a page
 * of fifty executions costs no request.
 */
export class PayloadLinks {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly seconds: number = PAYLOAD_URL_SECONDS,
  ) {}

  /** A presigned GET of the object a reference names; null for an inline value. */
  async urlOf(value: unknown): Promise<string | null> {
    if (!isPayloadReference(value)) return null;
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: value.$payload.key, ResponseContentType: 'application/json' });
    return getSignedUrl(this.s3, command, { expiresIn: this.seconds });
  }

  /** The links of a record's input and output. */
  async of(values: { readonly input: unknown; readonly output?: unknown }): Promise<PayloadUrls> {
    const [input, output] = await Promise.all([this.urlOf(values.input), this.urlOf(values.output)]);
    return { input, output };
  }
}
