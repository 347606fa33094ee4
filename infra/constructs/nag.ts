import { Stack, Validations } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/**
 * cdk-nag (`AwsSolutionsChecks`) acknowledgements, made next to the resources they concern.
 *
 * Rules that report several findings per resource (IAM4, IAM5) are acknowledged by their
 * bracketed id, e.g. `AwsSolutions-IAM5[Resource::<Table.Arn>/index/*]`, so each suppression names
 * exactly one finding and a new wildcard still fails the checks. The ids are computed from the
 * very resources granted, in the text cdk-nag uses for them.
 */

/** `AwsSolutions-<rule>`: a finding of a rule that reports one finding per resource. */
export type NagRuleId = `AwsSolutions-${string}`;

/** Acknowledges `id` on `scope` (and so on every resource below it), with the reason. */
export function acknowledge(scope: IConstruct, id: NagRuleId, reason: string): void {
  if (reason.trim().length < 20) throw new Error(`The acknowledgement of ${id} needs a real reason`);
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledges the `AwsSolutions-IAM5` finding of each wildcard resource among `resources`
 * (tokens allowed) on the policies of `grantee`'s principal. Resources without a wildcard are
 * skipped; a principal that is not a construct of this app (a service principal) has no policy here.
 * @returns the ids acknowledged
 */
export function acknowledgeWildcardResources(grantee: IGrantable, resources: readonly string[], reason: string): NagRuleId[] {
  const principal = grantee.grantPrincipal;
  if (!Construct.isConstruct(principal)) return [];
  const ids = resources
    .map((resource) => flattenCfnReference(Stack.of(principal).resolve(resource)))
    .filter((flat) => flat.includes('*'))
    .map((flat): NagRuleId => `AwsSolutions-IAM5[Resource::${flat}]`);
  for (const id of new Set(ids)) acknowledge(principal, id, reason);
  return ids;
}

/**
 * Acknowledges the `AwsSolutions-IAM5` finding of each wildcard action among `actions` (e.g.
 * `s3:Get*`) on the policies of `grantee`'s principal; actions without a wildcard are skipped.
 * @returns the ids acknowledged
 */
export function acknowledgeWildcardActions(grantee: IGrantable, actions: readonly string[], reason: string): NagRuleId[] {
  const principal = grantee.grantPrincipal;
  if (!Construct.isConstruct(principal)) return [];
  const ids = actions.filter((action) => action.includes('*')).map((action): NagRuleId => `AwsSolutions-IAM5[Action::${action}]`);
  for (const id of new Set(ids)) acknowledge(principal, id, reason);
  return ids;
}

/**
 * A resolved CloudFormation value as the flat text cdk-nag puts in finding ids: `Ref` as `<Id>`,
 * `Fn::GetAtt` as `<Id.Attr>`, `Fn::Join` joined, `${}` of `Fn::Sub` as `<>`, anything else as JSON.
 * (The same rules as cdk-nag's internal `flattenCfnReference`; the nag test proves they agree.)
 */
export function flattenCfnReference(value: unknown): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return value.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof value === 'object' && value !== null) {
    const node = value as Record<string, unknown>;
    const join = node['Fn::Join'];
    if (Array.isArray(join)) {
      const [delimiter, items] = join as [string, readonly unknown[]];
      return items.map(flattenCfnReference).join(delimiter);
    }
    if (node['Fn::Sub'] !== undefined) return flattenCfnReference(node['Fn::Sub']);
    const getAtt = node['Fn::GetAtt'];
    if (Array.isArray(getAtt)) return `<${flattenCfnReference(getAtt[0])}.${flattenCfnReference(getAtt[1])}>`;
    if (node['Fn::ImportValue'] !== undefined) return flattenCfnReference(node['Fn::ImportValue']);
    if (node.Ref !== undefined) return `<${flattenCfnReference(node.Ref)}>`;
  }
  return JSON.stringify(value);
}
