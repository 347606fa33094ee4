import { type App, Stack, Validations } from 'aws-cdk-lib';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { flattenCfnReference } from '../../infra/constructs/nag.js';
import { ExecutionsStack } from '../../infra/executions-stack.js';
import { loadTasksModule } from '../../infra/tasks-module.js';
import { STACK_NAME, testApp, SAMPLE_TASKS, type ServiceProps } from './support.js';

/** One resource reported by one rule (a bracketed rule id names one finding of a multi-finding rule). */
interface Finding {
  readonly rule: string;
  readonly path: string;
  readonly severity: string;
  readonly description: string;
}

/** An acknowledgement recorded on a construct by `Validations.of(scope).acknowledge`. */
interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

/** Every unacknowledged AwsSolutions finding (errors and warnings) under `scope`. */
function findingsOf(scope: IConstruct): Finding[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      path: resource.constructPath ?? '(no construct path)',
      severity: violation.severity ?? 'error',
      description: violation.description,
    })),
  );
}

/** Findings as readable lines, so a failure names the rule and the resource. */
function lines(findings: readonly Finding[]): string[] {
  return findings.map((finding) => `${finding.severity} ${finding.rule} at ${finding.path}: ${finding.description}`);
}

function acknowledgementsOf(scope: IConstruct): Acknowledgement[] {
  return scope.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

/**
 * An app that runs the AWS Solutions checks on synth, as `infra/app.ts` does. CDK's built-in
 * CloudFormation validation is left to `npm run synth`: its engine takes seconds to start and is
 * not what these tests are about.
 */
function appWithChecks(): App {
  const app = testApp({ builtinCloudFormationValidation: false });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
}

function serviceStack(props: ServiceProps = {}): ExecutionsStack {
  return new ExecutionsStack(testApp(), STACK_NAME, { tasksModule: SAMPLE_TASKS, ...props });
}

/** The findings the service stack would have with no acknowledgement at all. */
function findingsWithoutAcknowledgements(props: ServiceProps = {}): Finding[] {
  const spy = vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
  try {
    return findingsOf(serviceStack(props));
  } finally {
    spy.mockRestore();
  }
}

/** The integration suite's tasks (every construct but a Distributed Map: invokes by ARN, child tasks…) and a Distributed Map. */
const CONSTRUCTS = await loadTasksModule(new URL('../integration/test-tasks.ts', import.meta.url).pathname);
const DISTRIBUTED = await loadTasksModule(new URL('fixtures/distributed-map.ts', import.meta.url).pathname);

const VARIANTS: [string, ServiceProps][] = [
  ['API key auth (the default)', {}],
  ['IAM auth', { auth: 'iam' }],
  ['an alarm topic for an email address', { alarmEmail: 'ops@example.com' }],
  ['tasks using every construct', { tasksModule: CONSTRUCTS }],
  ['a task with a Distributed Map', { tasksModule: DISTRIBUTED }],
];

describe('cdk-nag AwsSolutions checks', () => {
  it.each(VARIANTS)('the service stack with %s has no unacknowledged finding, error or warning', (_name, props) => {
    expect(lines(findingsOf(serviceStack(props)))).toEqual([]);
  });

  it('the service stack synthesizes with the checks registered as a validation plugin, as `cdk synth` runs them', () => {
    const app = appWithChecks();
    new ExecutionsStack(app, STACK_NAME, { tasksModule: SAMPLE_TASKS });
    expect(() => app.synth()).not.toThrow();
  });

  it('the plugin fails synthesis on an unacknowledged finding (the checks are not vacuous)', () => {
    const app = appWithChecks();
    const stack = new Stack(app, 'Scratch');
    new Queue(stack, 'PlainQueue', { enforceSSL: false });
    expect(findingsOf(stack).map((finding) => finding.rule)).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']));
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS4/);
  });

  describe.each(VARIANTS)('acknowledgements of the stack with %s', (_name, props) => {
    const stack = serviceStack(props);
    const acknowledgements = acknowledgementsOf(stack);
    const raw = findingsWithoutAcknowledgements(props);

    it('exist (the stack has wildcards and public health routes to explain)', () => {
      expect(acknowledgements.length).toBeGreaterThan(0);
    });

    it.each(acknowledgements.map((ack): [string, string, Acknowledgement] => [ack.id, ack.path, ack]))(
      '%s at %s silences a real finding of a resource below it, with a reason',
      (_id, _path, ack) => {
        const silenced = raw.filter((finding) => finding.rule === ack.id && (finding.path === ack.path || finding.path.startsWith(`${ack.path}/`)));
        expect(silenced.map((finding) => finding.path), `${ack.id} at ${ack.path} silences nothing`).not.toEqual([]);
        expect(ack.reason.length).toBeGreaterThanOrEqual(60);
      },
    );

    it('sit on the constructs that own the resources, never on the app or the stack', () => {
      for (const ack of acknowledgements) {
        expect(ack.path.split('/').length, `${ack.id} at "${ack.path}"`).toBeGreaterThanOrEqual(3);
      }
    });

    it('name the exact finding of rules that report several (IAM4, IAM5) by its bracketed id', () => {
      for (const ack of acknowledgements.filter((candidate) => /^AwsSolutions-IAM[45]/.test(candidate.id))) {
        expect(ack.id).toMatch(/^AwsSolutions-IAM[45]\[(Resource|Action|Policy)::.+\]$/);
      }
    });
  });

  it('every rule acknowledged anywhere is explained in docs/security.md', () => {
    const doc = readFileSync(new URL('../../docs/security.md', import.meta.url), 'utf8');
    const rules = new Set(VARIANTS.flatMap(([, props]) => acknowledgementsOf(serviceStack(props))).map((ack) => ack.id.replace(/\[.*$/, '')));
    for (const rule of rules) expect(doc, rule).toContain(rule);
  });

  it('no role uses an AWS managed policy (IAM4 is fixed, not acknowledged)', () => {
    expect(findingsWithoutAcknowledgements().filter((finding) => finding.rule.startsWith('AwsSolutions-IAM4'))).toEqual([]);
  });

  it('flattens CloudFormation references into the text cdk-nag uses in finding ids', () => {
    expect(flattenCfnReference('*')).toBe('*');
    expect(flattenCfnReference({ 'Fn::GetAtt': ['Table', 'Arn'] })).toBe('<Table.Arn>');
    expect(flattenCfnReference({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, '/index/*']] })).toBe('<Table.Arn>/index/*');
    expect(flattenCfnReference({ 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'x']] })).toBe('arn:<AWS::Partition>:x');
    expect(flattenCfnReference({ 'Fn::Sub': 'arn:${AWS::Partition}:x' })).toBe('arn:<AWS::Partition>:x');
    expect(flattenCfnReference({ 'Fn::Select': [6, { Ref: 'X' }] })).toBe('{"Fn::Select":[6,{"Ref":"X"}]}');
  });
});
