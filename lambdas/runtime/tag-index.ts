import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { tagDiff } from '../domain/tags.js';
import { META_SK } from '../repository/keys.js';
import type { TagIndexStore } from '../repository/tag-store.js';
import type { Logger } from '../shared/logger.js';

type Image = Record<string, AttributeValue>;

/** What the tag index writer needs. */
export interface TagIndexDeps {
  readonly store: Pick<TagIndexStore, 'syncTagItems'>;
  readonly logger: Logger;
}

/** The tags of a stream image (`tags`, a list of strings), empty when it has none. */
function tagsOf(image: Image | undefined): string[] {
  return (image?.tags?.L ?? []).flatMap((value) => (value.S === undefined ? [] : [value.S]));
}

/** An execution whose index items may be out of line, and the tags its images named that changed. */
export interface TagChange {
  readonly tenant: string;
  readonly id: string;
  readonly tags: readonly string[];
}

/**
 * The executions of a batch of stream records whose tags differ between the old and the new image
 * (a record created with tags, one removed by TTL, an edit), merged per execution: the union of the
 * tags that changed. Records of other items, and changes that leave the tags as they were (a step's
 * progress), give nothing.
 */
export function tagChangesOf(records: readonly DynamoDBRecord[]): TagChange[] {
  const changes = new Map<string, { tenant: string; id: string; tags: Set<string> }>();
  for (const record of records) {
    const stream = record.dynamodb;
    if (stream?.Keys?.sk?.S !== META_SK) continue;
    const before = stream.OldImage as Image | undefined;
    const after = stream.NewImage as Image | undefined;
    const image = after ?? before;
    const tenant = image?.tenant?.S;
    const id = image?.id?.S;
    if (tenant === undefined || id === undefined) continue;
    const { add, remove } = tagDiff(tagsOf(before), tagsOf(after));
    if (add.length + remove.length === 0) continue;
    const key = `${tenant}\u0000${id}`;
    const change = changes.get(key) ?? { tenant, id, tags: new Set<string>() };
    for (const tag of [...add, ...remove]) change.tags.add(tag);
    changes.set(key, change);
  }
  return [...changes.values()].map(({ tenant, id, tags }) => ({ tenant, id, tags: [...tags] }));
}

/**
 * Writes the tag index from the table's stream: for each execution whose tags changed, the items
 * of those tags are made to match the record as it is when this runs (not as the stream record
 * says: a duplicate or reordered record then changes nothing wrong; see `TagIndexStore.syncTagItems`).
 * A failure throws, so the event source mapping retries the batch (and bisects it).
 */
export async function indexTagChanges(deps: TagIndexDeps, records: readonly DynamoDBRecord[]): Promise<void> {
  for (const change of tagChangesOf(records)) {
    const writes = await deps.store.syncTagItems(change.tenant, change.id, change.tags);
    deps.logger.debug('tag index synced', { execution_id: change.id, writes });
  }
}
