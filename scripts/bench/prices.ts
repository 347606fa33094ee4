/**
 * Published on-demand prices of the AWS parts an execution uses, for ONE region, in one place:
 * the cost model (cost-model.ts) multiplies the bench's counted operations by these, and
 * docs/performance.md prints this file's date, region and sources with the table.
 *
 * Each price names where it was read. `confirmed` is true only when the number itself was read on
 * an AWS page; false when the AWS page's stored text did not show the number (several AWS pricing
 * pages render their tables from client-side price tokens) and it was read from secondary sources
 * that agree with each other: re-check those on the AWS page before relying on them.
 * First tiers only (volume tiers start far above a million executions a month), no free tier.
 */
export interface Price {
  /** US dollars per `per` units. */
  readonly usd: number;
  readonly per: number;
  /** What is counted, e.g. `requests`, `GB-seconds`. */
  readonly unit: string;
  /** Where the price is published. */
  readonly source: string;
  /** Read on the AWS page itself (see above). */
  readonly confirmed: boolean;
  readonly note?: string;
}

/** The region every price is for. */
export const PRICE_REGION = 'us-east-1 (US East, N. Virginia)';
/** When the prices were read. */
export const PRICES_CHECKED = '2026-11-30';

/** Dollars for one unit of `price`. */
export const unitPrice = (price: Price): number => price.usd / price.per;

/** Every price the cost model uses. */
export const PRICES = {
  apiGatewayHttpRequest: {
    usd: 1.0,
    per: 1_000_000,
    unit: 'HTTP API requests (first 300 million a month; metered in 512 KB increments)',
    source: 'https://aws.amazon.com/api-gateway/pricing/',
    confirmed: false,
    note: 'AWS page text read shows the 512 KB metering but not the number; $1.00 per million from https://www.learnaws.org/2021/01/10/api-gateway-pricing/ and https://awsforengineers.com/blog/aws-api-gateway-pricing-explained',
  },
  lambdaRequest: {
    usd: 0.2,
    per: 1_000_000,
    unit: 'Lambda requests (x86_64 and arm64)',
    source: 'https://aws.amazon.com/lambda/pricing/',
    confirmed: false,
    note: 'the AWS page renders its rates from price tokens; $0.20 per million from https://cloudchipr.com/blog/aws-lambda-pricing (us-east-1)',
  },
  lambdaGbSecondArm: {
    usd: 0.0000133334,
    per: 1,
    unit: 'Lambda GB-seconds, arm64 (first 7.5 billion a month), billed per 1 ms',
    source: 'https://aws.amazon.com/lambda/pricing/',
    confirmed: false,
    note: 'from https://cloudchipr.com/blog/aws-lambda-pricing (us-east-1), agreeing with artillery\'s lib/platform/aws-lambda/prices.js (arm64 base 1333340e-11)',
  },
  lambdaGbSecondX86: {
    usd: 0.0000166667,
    per: 1,
    unit: 'Lambda GB-seconds, x86_64 (first 6 billion a month), billed per 1 ms',
    source: 'https://aws.amazon.com/lambda/pricing/',
    confirmed: false,
    note: 'from https://cloudchipr.com/blog/aws-lambda-pricing (us-east-1), agreeing with artillery\'s prices.js (x86_64 base 1666670e-11)',
  },
  stepFunctionsTransition: {
    usd: 0.025,
    per: 1_000,
    unit: 'Step Functions Standard state transitions (retries and redrives included)',
    source: 'https://aws.amazon.com/step-functions/pricing/',
    confirmed: true,
    note: 'US East (N. Virginia) row of the state transitions pricing table: $0.0250 per 1,000',
  },
  dynamoDbWriteRequestUnit: {
    usd: 0.625,
    per: 1_000_000,
    unit: 'DynamoDB on-demand write request units, Standard table class (a transactional write of 1 KB takes 2)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    confirmed: false,
    note: 'the AWS page text read defines the units but did not show the number; $0.625 per million from https://airbyte.com/data-engineering-resources/dynamodb-pricing (US East, after the November 2024 on-demand price cut)',
  },
  dynamoDbReadRequestUnit: {
    usd: 0.125,
    per: 1_000_000,
    unit: 'DynamoDB on-demand read request units, Standard table class (a strongly consistent read of 4 KB takes 1)',
    source: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
    confirmed: false,
    note: 'as the write units: $0.125 per million from https://airbyte.com/data-engineering-resources/dynamodb-pricing',
  },
  eventBridgeAwsServiceEvent: {
    usd: 0,
    per: 1_000_000,
    unit: 'EventBridge events from AWS services on the default bus (Step Functions status changes)',
    source: 'https://aws.amazon.com/eventbridge/pricing/',
    confirmed: false,
    note: 'free per https://www.wring.co/blog/aws-eventbridge-pricing-guide and https://blog.awsfundamentals.com/aws-eventbridge-pricing-guide; custom events (PutEvents) would be $1.00 per million, and the service publishes none',
  },
  s3WriteRequest: {
    usd: 0.005,
    per: 1_000,
    unit: 'S3 Standard PUT, COPY, POST and LIST requests',
    source: 'https://aws.amazon.com/s3/pricing/',
    confirmed: false,
    note: 'the AWS page text was not in the sources read; $0.005 per 1,000 as quoted by https://www.cloudkaramchari.com/blog/understanding-per-1000-put-copy-post-or-list-requests-in-amazon-s3-pricing/',
  },
  s3ReadRequest: {
    usd: 0.0004,
    per: 1_000,
    unit: 'S3 Standard GET, SELECT and HEAD requests (DELETE is free)',
    source: 'https://aws.amazon.com/s3/pricing/',
    confirmed: false,
    note: 'not confirmed on any page read this session: the long-standing us-east-1 figure; re-check',
  },
  sqsRequest: {
    usd: 0.4,
    per: 1_000_000,
    unit: 'SQS Standard requests (each 64 KB of a payload counts as one)',
    source: 'https://aws.amazon.com/sqs/pricing/',
    confirmed: false,
    note: '$0.40 per million from https://cloudburn.io/blog/amazon-sqs-pricing and https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization',
  },
} as const satisfies Record<string, Price>;

/** The prices the cost model takes (tests pass their own). */
export type Prices = { readonly [K in keyof typeof PRICES]: Price };
