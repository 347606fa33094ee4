import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeWildcardResources } from './nag.js';

/**
 * Step Functions' longest standard execution (one year): an object is written while its execution
 * runs, so it must outlive the run as well as the record's retention after it.
 */
export const LONGEST_EXECUTION_DAYS = 365;

/** Props of {@link PayloadBucket}. */
export interface PayloadBucketProps {
  /**
   * Days a finished execution is kept (the table's TTL). An object expires this many days plus
   * {@link LONGEST_EXECUTION_DAYS} after it was written, so no record outlives the bytes it references.
   */
  readonly retentionDays: number;
  /**
   * What happens to the bucket when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The bucket of offloaded payloads: execution inputs, step outputs and final outputs larger than
 * the offload threshold (lambdas/domain/payload-limits.ts). Encrypted with S3-managed keys, every
 * form of public access blocked, ACLs disabled, TLS required, and each object expired by a
 * lifecycle rule once the execution that wrote it has passed its retention. Functions get access
 * one by one ({@link grantWrite}, {@link grantRead}); the name reaches them as `PAYLOAD_BUCKET`.
 */
export class PayloadBucket extends Construct {
  /** The bucket. */
  readonly bucket: IBucket;
  /** Days after which an object is expired. */
  readonly expirationDays: number;

  constructor(scope: Construct, id: string, props: PayloadBucketProps) {
    super(scope, id);
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1) throw new Error('retentionDays must be a positive integer');
    this.expirationDays = props.retentionDays + LONGEST_EXECUTION_DAYS;
    const bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        { id: 'expire-with-executions', expiration: Duration.days(this.expirationDays), abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
    });
    acknowledge(
      bucket,
      'AwsSolutions-S1',
      'Payload objects are written and read only by the service\'s own functions (each call is in their logs); server access logs would need a second bucket and record every presigned read, which the API already logs.',
    );
    this.bucket = bucket;
  }

  /** Lets `grantee` write objects (a step's output, a create's input): `s3:PutObject` on the bucket's objects, nothing else. */
  grantWrite(grantee: IGrantable): void {
    this.grantObjects(grantee, 's3:PutObject');
  }

  /**
   * Lets `grantee` read objects (a step's input; a presigned link is signed with the reader's role,
   * so the link works as long as the role may read): `s3:GetObject` on the bucket's objects.
   */
  grantRead(grantee: IGrantable): void {
    this.grantObjects(grantee, 's3:GetObject');
  }

  private grantObjects(grantee: IGrantable, action: string): void {
    const resource = this.bucket.arnForObjects('*');
    Grant.addToPrincipal({ grantee, actions: [action], resourceArns: [resource] });
    acknowledgeWildcardResources(
      grantee,
      [resource],
      'Object keys are the tenant, the execution and the step, made at run time: the grant is every object of the payload bucket and no other bucket.',
    );
  }
}
