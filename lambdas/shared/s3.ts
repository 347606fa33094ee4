import { S3Client } from '@aws-sdk/client-s3';
import { CLIENT_CONFIG } from './client-config.js';

/**
 * The S3 client of the functions that read or write the payload bucket, built once, with bounded
 * calls ({@link CLIENT_CONFIG}); honours `AWS_ENDPOINT_URL_S3` (the local stack's S3 server, which
 * takes path-style addresses only). Only the modules that offload payloads import it, so functions
 * that never touch S3 do not bundle the client.
 */
export const s3 = new S3Client({ ...CLIENT_CONFIG, forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined });
