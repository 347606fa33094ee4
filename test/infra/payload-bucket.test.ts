import { Match } from 'aws-cdk-lib/assertions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { ExecutionsApi } from '../../infra/constructs/executions-api.js';
import { LONGEST_EXECUTION_DAYS } from '../../infra/constructs/payload-bucket.js';
import { TaskStepFunction } from '../../infra/constructs/task-step-function.js';
import { allStatements, allows, logicalIdOf, onlyResource, resourcesOf, synthService } from './support.js';

const { stack, template } = synthService({ retentionDays: 30 });
const BUCKET = 'AWS::S3::Bucket';

/** The role logical id of each function `fns`. */
function rolesOf(fns: readonly IFunction[]): Set<string> {
  return new Set(fns.map((fn) => logicalIdOf(stack, fn.role!)));
}

const api = stack.node.findAll().find((construct): construct is ExecutionsApi => construct instanceof ExecutionsApi)!;
const steps = stack.node.findAll().filter((construct): construct is TaskStepFunction => construct instanceof TaskStepFunction);

/** Roles allowed `action`, and the resources of those statements. */
function grantsOf(action: string): { roles: Set<string>; resources: unknown[] } {
  const matching = allStatements(template).filter(({ statement }) => statement.Effect === 'Allow' && allows([statement], action));
  return { roles: new Set(matching.map(({ role }) => role)), resources: matching.map(({ statement }) => statement.Resource) };
}

describe('payload bucket', () => {
  it('is one bucket, encrypted with S3-managed keys, every public access blocked, ACLs disabled', () => {
    template.resourceCountIs(BUCKET, 1);
    template.hasResourceProperties(BUCKET, {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    });
  });

  it('refuses every request without TLS (and below TLS 1.2) in its bucket policy', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('expires objects after the execution retention plus the longest execution, so no record outlives its bytes', () => {
    const [, bucket] = onlyResource(template, BUCKET);
    const rules = (bucket.Properties?.LifecycleConfiguration as { Rules: { ExpirationInDays?: number; Status: string }[] }).Rules;
    expect(rules).toEqual([expect.objectContaining({ Status: 'Enabled', ExpirationInDays: 30 + LONGEST_EXECUTION_DAYS, AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]);
  });

  it('is retained when the stack is deleted (by default)', () => {
    const [, bucket] = onlyResource(template, BUCKET);
    expect(bucket.DeletionPolicy).toBe('Retain');
  });

  it('lets the step functions, the create function, the recovery function (a replay\'s new input) and the control function (a resume input) write objects, and nobody else', () => {
    expect(steps.length).toBeGreaterThan(0);
    expect(grantsOf('s3:PutObject').roles).toEqual(rolesOf([...steps, api.functions.create, api.functions.recovery, api.functions.control]));
  });

  it('lets the step functions and the read function (which signs the links) read objects, and nobody else', () => {
    expect(grantsOf('s3:GetObject').roles).toEqual(rolesOf([...steps, api.functions.read]));
  });

  it('grants object actions on the payload bucket\'s objects only: no listing, no deleting, no other bucket', () => {
    const [bucketId] = onlyResource(template, BUCKET);
    for (const action of ['s3:PutObject', 's3:GetObject']) {
      for (const resource of grantsOf(action).resources) {
        expect(resource).toEqual({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/*']] });
      }
    }
    expect(grantsOf('s3:ListBucket').roles.size).toBe(0);
    expect(grantsOf('s3:DeleteObject').roles.size).toBe(0);
  });

  it('passes the bucket name to the functions as PAYLOAD_BUCKET', () => {
    const [bucketId] = onlyResource(template, BUCKET);
    const functions = Object.values(resourcesOf(template, 'AWS::Lambda::Function'));
    const withBucket = functions.filter((fn) => (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.PAYLOAD_BUCKET !== undefined);
    expect(withBucket.length).toBeGreaterThan(0);
    for (const fn of withBucket) {
      expect((fn.Properties?.Environment as { Variables: Record<string, unknown> }).Variables.PAYLOAD_BUCKET).toEqual({ Ref: bucketId });
    }
  });
});
