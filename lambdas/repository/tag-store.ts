import { ServiceUnavailableError } from '../domain/errors.js';
import type { ExecutionRecord } from '../domain/execution.js';
import { distinctTags } from '../domain/tags.js';
import { ExecutionStore, type TransactItems } from './execution-store.js';
import { ROW_EXTRA_SECONDS, epochSeconds } from './items.js';
import { META_SK, executionPk, tagPk } from './keys.js';

/** How often a tag write re-reads the record and tries again when the record's tags changed under it. */
const TAG_ATTEMPTS = 3;

/**
 * The tag index's items and tag edits: one item per (tenant, tag, execution), keys plus the tenant, the id and
 * a TTL that outlives the record (as its transition rows do), so an item a lost delete left behind
 * goes in the end. Readers skip an item whose record no longer has the tag (or is gone).
 */
export class TagStore extends ExecutionStore {
  /** The Put of the index item of `tag` for `record`. */
  protected tagPut(record: Pick<ExecutionRecord, 'tenant' | 'id' | 'createdAt'>, tag: string): TransactItems[number] {
    return {
      Put: {
        TableName: this.table,
        Item: {
          pk: tagPk(record.tenant, tag),
          sk: record.id,
          tenant: record.tenant,
          id: record.id,
          expires_at: epochSeconds(record.createdAt) + this.retentionSeconds + ROW_EXTRA_SECONDS,
        },
      },
    };
  }

  /** The Delete of the index item of `tag` for execution `id` (nothing when there is none). */
  protected tagDelete(tenant: string, id: string, tag: string): TransactItems[number] {
    return { Delete: { TableName: this.table, Key: { pk: tagPk(tenant, tag), sk: id } } };
  }

  /**
   * Replaces the tags of an execution (any status, finished ones included) and its index items in
   * ONE transaction: the record update, conditioned on the tags this request read (of two
   * concurrent edits exactly one applies to what the other saw; the loser reads again and
   * replaces, so the last edit wins), a Put of every new tag's item (again for tags it keeps: an
   * item a lost stream record never wrote is repaired), and a Delete of each dropped tag's item.
   * @throws NotFoundError (404) when there is no such execution in this tenant; ServiceUnavailableError
   *   (503) when concurrent edits won three times in a row.
   */
  async setTags(tenant: string, id: string, tags: readonly string[]): Promise<ExecutionRecord> {
    const next = distinctTags(tags);
    for (let attempt = 1; ; attempt++) {
      const record = await this.get(tenant, id);
      const before = record.tags ?? [];
      const values: Record<string, unknown> = {};
      let condition = 'attribute_exists(pk) AND ';
      // The list as read (an empty one too: a create may store one), or none.
      if (record.tags === undefined) condition += 'attribute_not_exists(#tags)';
      else {
        values[':old'] = record.tags;
        condition += '#tags = :old';
      }
      if (next.length > 0) values[':tags'] = next;
      const dropped = distinctTags(before).filter((tag) => !next.includes(tag));
      const items: TransactItems = [
        {
          Update: {
            TableName: this.table,
            Key: { pk: executionPk(tenant, id), sk: META_SK },
            UpdateExpression: next.length > 0 ? 'SET #tags = :tags' : 'REMOVE #tags',
            ConditionExpression: condition,
            ExpressionAttributeNames: { '#tags': 'tags' },
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          },
        },
        ...next.map((tag) => this.tagPut(record, tag)),
        ...dropped.map((tag) => this.tagDelete(tenant, id, tag)),
      ];
      const written = await this.transact(items, (codes) => {
        if (codes?.[0] !== 'ConditionalCheckFailed') return undefined;
        if (attempt < TAG_ATTEMPTS) return 'settled';
        // Lost to other edits three times: retrying the same request is the answer.
        throw new ServiceUnavailableError('Other edits of this execution\'s tags kept winning; retry.');
      });
      if (written) {
        const { tags: _old, ...rest } = record;
        return next.length > 0 ? { ...rest, tags: next } : rest;
      }
    }
  }
}

/**
 * The tag index's stream writer (a class of its own, so the API function that edits tags does not
 * bundle it).
 */
export class TagIndexStore extends TagStore {
  /**
   * Brings the index items of the tags `candidates` (those a stream record's images name) in line
   * with the record as it is NOW: an item for each candidate the record has, none for the others
   * (none at all once the record is gone). One transaction whose condition check on the record
   * says it still has exactly those of the candidates, so a duplicate, late or reordered stream
   * record can neither bring back a removed tag nor drop a current one: when the record's tags
   * changed between the read and the write, it reads again.
   * @returns how many index items were written or deleted.
   */
  async syncTagItems(tenant: string, id: string, candidates: readonly string[]): Promise<number> {
    const tags = distinctTags(candidates);
    if (tags.length === 0) return 0;
    for (let attempt = 1; ; attempt++) {
      const record = await this.find(tenant, id);
      const current = new Set(record?.tags ?? []);
      const names: Record<string, string> = {};
      const values: Record<string, unknown> = {};
      const terms: string[] = [];
      const items: TransactItems = [];
      tags.forEach((tag, index) => {
        values[`:t${index}`] = tag;
        if (record && current.has(tag)) {
          terms.push(`contains(#tags, :t${index})`);
          items.push(this.tagPut(record, tag));
        } else {
          terms.push(`NOT contains(#tags, :t${index})`);
          items.push(this.tagDelete(tenant, id, tag));
        }
      });
      names['#tags'] = 'tags';
      const check: TransactItems[number] = {
        ConditionCheck: {
          TableName: this.table,
          Key: { pk: executionPk(tenant, id), sk: META_SK },
          ...(record
            ? { ConditionExpression: `attribute_exists(pk) AND ${terms.join(' AND ')}`, ExpressionAttributeNames: names, ExpressionAttributeValues: values }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        },
      };
      const written = await this.transact([check, ...items], (codes) =>
        codes?.[0] === 'ConditionalCheckFailed' && attempt < TAG_ATTEMPTS ? 'settled' : undefined,
      );
      if (written) return items.length;
      // The record's tags changed after the read: read again.
    }
  }
}
