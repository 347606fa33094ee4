import { SFNClient } from '@aws-sdk/client-sfn';
import { CLIENT_CONFIG } from './client-config.js';

/**
 * The Step Functions client, built once, with bounded calls ({@link CLIENT_CONFIG}); honours
 * `AWS_ENDPOINT_URL_SFN` (the local stack).
 */
export const sfn = new SFNClient(CLIENT_CONFIG);
