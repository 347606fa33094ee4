import { S3Client } from '@aws-sdk/client-s3';
import { PayloadStore } from '../../../lambdas/shared/payload-store.js';

/**
 * A payload store for tests whose values all stay under the offload threshold: it never calls S3
 * (a test that does offload mocks `S3Client` with aws-sdk-client-mock).
 */
export function unusedPayloads(): PayloadStore {
  return new PayloadStore(new S3Client({ region: 'us-east-1' }), 'payloads');
}
