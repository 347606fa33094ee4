import { SQSClient } from '@aws-sdk/client-sqs';
import { CLIENT_CONFIG } from '../shared/client-config.js';

/** The SQS client, built once, with bounded calls; honours `AWS_ENDPOINT_URL_SQS` (the local stack). */
export const sqs = new SQSClient(CLIENT_CONFIG);
