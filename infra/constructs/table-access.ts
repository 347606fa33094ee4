import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';

/** DynamoDB actions by access level; transactions need the per-item actions they contain. */
const ACTIONS = {
  read: ['dynamodb:GetItem', 'dynamodb:Query'],
  write: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
} as const;

/**
 * Grants exactly the item actions the repository uses, on the table and its indexes: no Scan,
 * no DeleteItem, no batch writes, for any function.
 */
export function grantTableAccess(grantee: IGrantable, table: ITableV2, level: keyof typeof ACTIONS): void {
  grantee.grantPrincipal.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [...ACTIONS[level]],
      resources: [table.tableArn, `${table.tableArn}/index/*`],
    }),
  );
}
