import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { acknowledgeWildcardResources } from './nag.js';

/** DynamoDB actions by access level; transactions need the per-item actions they contain. */
const ACTIONS = {
  /** BatchGetItem: a page of a tag's executions reads their records in one call. */
  read: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:BatchGetItem'],
  write: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
  /** The webhooks API function, which deletes subscriptions (on webhook items only: {@link grantWebhookItems}). */
  manage: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DeleteItem'],
} as const;

/**
 * Grants exactly the item actions the repository uses, on the table and its indexes: no Scan and
 * no batch writes for any function, DeleteItem only for the one that deletes webhook subscriptions.
 */
export function grantTableAccess(grantee: IGrantable, table: ITableV2, level: keyof typeof ACTIONS, leadingKeys?: readonly string[]): void {
  const resources = [table.tableArn, `${table.tableArn}/index/*`];
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [...ACTIONS[level]],
      resources,
      ...(leadingKeys ? { conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...leadingKeys] } } } : {}),
    }),
  );
  acknowledgeWildcardResources(
    grantee,
    resources,
    '`<table>/index/*` names the indexes of this one table only (by-tenant-keys, by-task-keys, by-ended, by-open, and the others), ' +
      'which the repository queries; no other table is reachable, and no Scan is granted.',
  );
}

/**
 * The partition keys of webhook items: subscriptions (`WEBHOOKS#`), deliveries (`WEBHOOK#`) and the
 * `by-due` index (`DUE#`). See {@link grantWebhookItems}.
 */
export const WEBHOOK_LEADING_KEYS = ['WEBHOOKS#*', 'WEBHOOK#*', 'DUE#*'] as const;

/**
 * Grants `level` on webhook items only (a `dynamodb:LeadingKeys` condition): the webhook functions
 * never read or write an execution, an API key or an idempotency key.
 */
export function grantWebhookItems(grantee: IGrantable, table: ITableV2, level: keyof typeof ACTIONS): void {
  grantTableAccess(grantee, table, level, WEBHOOK_LEADING_KEYS);
}

/** The partition keys of the tag index's items (`lambdas/repository/keys.ts` `tagPk`). */
export const TAG_LEADING_KEYS = ['TAG#*'] as const;

/**
 * Grants what the tag index's writers need: reading records and checking them in a transaction,
 * and putting and deleting tag items only (a `dynamodb:LeadingKeys` condition): the only deletes
 * of the executions' side of the table, and on index items alone.
 */
export function grantTagItems(grantee: IGrantable, table: ITableV2): void {
  grantTableAccess(grantee, table, 'read');
  // As every grant of the table: the table and its indexes (items of neither kind are in an index's keys).
  const resources = [table.tableArn, `${table.tableArn}/index/*`];
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({ actions: ['dynamodb:ConditionCheckItem'], resources, conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['EXEC#*'] } } }),
  );
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      resources,
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...TAG_LEADING_KEYS] } },
    }),
  );
}
