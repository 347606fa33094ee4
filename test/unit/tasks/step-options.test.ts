import { describe, expect, it } from 'vitest';
import { step, type StepOptions } from '../../../lambdas/tasks/dsl.js';
import { DEFAULT_MEMORY_MB, environmentBytes, MAX_ENVIRONMENT_BYTES, stepFunctionConfig } from '../../../lambdas/tasks/step-options.js';

const noop = (value: unknown) => value;
const configOf = (options: StepOptions) => stepFunctionConfig('sample-task', step('fetch', noop, options));

describe('a Lambda step\'s function options', () => {
  it('are kept on the step as given, and default at synth to 1024 MB, no variables and no permissions', () => {
    const defined = step('fetch', noop);

    expect(defined).not.toHaveProperty('memoryMb');
    expect(stepFunctionConfig('sample-task', defined)).toEqual({ memoryMb: DEFAULT_MEMORY_MB, environment: {}, permissions: [] });
    expect(DEFAULT_MEMORY_MB).toBe(1024);
  });

  it('keep memory, variables and permissions, filling in Allow', () => {
    const options: StepOptions = {
      memoryMb: 2048,
      environment: { BUCKET_NAME: 'documents', Mode_2: 'fast' },
      permissions: [
        { actions: ['s3:GetObject'], resources: ['arn:aws:s3:::documents/*'] },
        { actions: ['s3:DeleteObject'], resources: ['*'], effect: 'Deny' },
      ],
    };

    expect(configOf(options)).toEqual({
      memoryMb: 2048,
      environment: { BUCKET_NAME: 'documents', Mode_2: 'fast' },
      permissions: [
        { effect: 'Allow', actions: ['s3:GetObject'], resources: ['arn:aws:s3:::documents/*'] },
        { effect: 'Deny', actions: ['s3:DeleteObject'], resources: ['*'] },
      ],
    });
  });

  it.each([127, 10_241, 512.5, Number.NaN])('refuses memoryMb %s, naming task and step', (memoryMb) => {
    expect(() => configOf({ memoryMb })).toThrow(`Task sample-task, step fetch: memoryMb must be an integer from 128 to 10240, got ${memoryMb}`);
  });

  it.each([128, 10_240])('accepts memoryMb %s', (memoryMb) => {
    expect(configOf({ memoryMb }).memoryMb).toBe(memoryMb);
  });

  it.each(['X', '1ABC', '_HIDDEN', 'WITH-DASH', 'WITH SPACE', 'ÜBER'])('refuses the variable name %j, naming task and step', (name) => {
    expect(() => configOf({ environment: { [name]: 'v' } })).toThrow(`Task sample-task, step fetch: environment variable "${name}" must be letters, digits and _`);
  });

  it.each(['AWS_REGION', 'AWS_ACCESS_KEY_ID', 'AWS_LAMBDA_FUNCTION_NAME', 'LAMBDA_TASK_ROOT', 'TZ'])('refuses Lambda\'s reserved variable %s', (name) => {
    expect(() => configOf({ environment: { [name]: 'v' } })).toThrow(`Task sample-task, step fetch: environment variable ${name} is reserved by Lambda`);
  });

  it('refuses a value that is not a string', () => {
    expect(() => configOf({ environment: { COUNT: 3 as unknown as string } })).toThrow('environment variable COUNT must be a string, got number');
  });

  it('refuses variables over 4 KB as JSON, and takes them at exactly 4 KB', () => {
    const exactly = { BIG: 'x'.repeat(MAX_ENVIRONMENT_BYTES - '{"BIG":""}'.length) };
    expect(environmentBytes(exactly)).toBe(MAX_ENVIRONMENT_BYTES);
    expect(configOf({ environment: exactly }).environment).toEqual(exactly);

    expect(() => configOf({ environment: { BIG: `${exactly.BIG}x` } })).toThrow(
      'Task sample-task, step fetch: environment takes 4097 bytes as JSON; Lambda allows 4096',
    );
  });

  it.each<[string, StepOptions['permissions'], RegExp]>([
    ['no action', [{ actions: [], resources: ['*'] }], /permissions\[0\]: actions must name at least one action/],
    ['the action *', [{ actions: ['*'], resources: ['*'] }], /permissions\[0\]: the action "\*" grants everything/],
    ['an action without a service', [{ actions: ['GetObject'], resources: ['*'] }], /permissions\[0\]: action "GetObject" is not service:Action/],
    ['no resource', [{ actions: ['s3:GetObject'], resources: [] }], /permissions\[0\]: resources must name at least one resource/],
    ['an empty resource', [{ actions: ['s3:GetObject'], resources: [' '] }], /permissions\[0\]: resource " " must be an ARN/],
    ['an unknown effect', [{ actions: ['s3:GetObject'], resources: ['*'], effect: 'allow' as 'Allow' }], /permissions\[0\]: effect must be Allow or Deny, got "allow"/],
    ['a second bad statement', [{ actions: ['s3:GetObject'], resources: ['*'] }, { actions: ['s3'], resources: ['*'] }], /permissions\[1\]: action "s3"/],
  ])('refuses a permission with %s, naming task, step and statement', (_what, permissions, error) => {
    expect(() => configOf({ ...(permissions ? { permissions } : {}) })).toThrow(/^Task sample-task, step fetch: /);
    expect(() => configOf({ ...(permissions ? { permissions } : {}) })).toThrow(error);
  });

  it('accepts wildcard actions within a service', () => {
    expect(configOf({ permissions: [{ actions: ['s3:Get*', 'kms:Decrypt'], resources: ['arn:aws:s3:::b/*'] }] }).permissions[0]?.actions).toEqual([
      's3:Get*',
      'kms:Decrypt',
    ]);
  });
});
