import { SFNClient } from '@aws-sdk/client-sfn';

/** The Step Functions client, built once; honours `AWS_ENDPOINT_URL_SFN` (the local stack). */
export const sfn = new SFNClient({});
