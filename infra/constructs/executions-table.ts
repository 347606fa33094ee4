import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, type GlobalSecondaryIndexPropsV2, StreamViewType, TableEncryptionV2, TableV2, type ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ADMISSION_INDEX, COMPLETED_INDEX, DUE_INDEX, GROUP_INDEX, INDEXES, INDEX_SORT_KEY, OPEN_INDEX, PARENT_INDEX, STARTED_INDEX } from '../../lambdas/repository/keys.js';

/** Props of {@link ExecutionsTable}. */
export interface ExecutionsTableProps {
  /**
   * What happens to the table when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse `DeleteTable` until this is turned off.
   * @default true
   */
  readonly deletionProtection?: boolean;
}

/**
 * The single table of the service: execution records, their transition rows (same partition) and
 * idempotency keys; on-demand, point-in-time recovery, encrypted, TTL on `expires_at`. Its indexes
 * (docs/architecture.md, "Indexes and what a write costs"): by tenant and by task (keys only, by
 * execution id, which is time-ordered); by ended status (sparse: ended executions only, keys only);
 * by open (sparse: executions not ended yet and follow-up items, by tenant shard then tenant and id,
 * projecting what the reconciler reads); by completed and by started (by tenant, sparse by their
 * sort keys `completed_at` and `started_at`, keys only); by parent (sparse, the children of an
 * execution, projecting everything) sorted by `created_at`; by due (sparse, keys only) holds the
 * webhook deliveries not settled yet, by when their message is due back; by group (sparse,
 * projecting everything) holds the executions of each batch and the runs of each recurring
 * schedule, by id; by admission (sparse) holds held executions by stage: delayed, queued per
 * tenant, holding a slot. Its stream carries new and old images, which the webhooks, admission and
 * the tag index's writer read. Tag index items (`TAG#<tenant>#<tag>`, one per execution) live in
 * the table itself, not in an index.
 */
export class ExecutionsTable extends Construct {
  /** The table. */
  readonly table: ITableV2;

  constructor(scope: Construct, id: string, props: ExecutionsTableProps = {}) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expires_at',
      // Webhooks: status changes of execution records, before and after (infra/constructs/webhooks.ts).
      dynamoStream: StreamViewType.NEW_AND_OLD_IMAGES,
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      globalSecondaryIndexes: [
        // Keys only: a list reads its page's records after the Query, so each is written once, at
        // create (docs/architecture.md, "Indexes and what a write costs").
        ...Object.values(INDEXES).map((index) => gsi({ ...index, sortKey: INDEX_SORT_KEY }, ProjectionType.KEYS_ONLY)),
        // What the reconciler reads without the record; never the status, which every step changes.
        gsi(OPEN_INDEX, ProjectionType.INCLUDE),
        gsi(PARENT_INDEX, ProjectionType.ALL),
        // ALL, so a page of a batch or a schedule's runs is one Query; its cost is one more index
        // write per write of such a record (docs/architecture.md), and none for the others (sparse).
        gsi(GROUP_INDEX, ProjectionType.ALL),
        // Sparse by their sort keys, keys only: an execution enters each once.
        gsi(COMPLETED_INDEX, ProjectionType.KEYS_ONLY),
        gsi(STARTED_INDEX, ProjectionType.KEYS_ONLY),
        gsi(DUE_INDEX, ProjectionType.KEYS_ONLY),
        gsi(ADMISSION_INDEX, ProjectionType.INCLUDE),
      ],
    });
  }
}

/** One index of the table: string keys, and with INCLUDE the index's own `include` list. */
function gsi(
  index: { readonly name: string; readonly partitionKey: string; readonly sortKey: string; readonly include?: readonly string[] },
  projectionType: ProjectionType,
): GlobalSecondaryIndexPropsV2 {
  return {
    indexName: index.name,
    partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
    sortKey: { name: index.sortKey, type: AttributeType.STRING },
    projectionType,
    ...(projectionType === ProjectionType.INCLUDE ? { nonKeyAttributes: [...(index.include ?? [])] } : {}),
  };
}
