/** How many tags an execution may carry. */
export const MAX_TAGS = 10;

/** What one tag may be: 1 to 64 of these characters (no `#`, which separates the parts of the index's keys, nor `,`, which joins repeated query values). */
export const TAG_PATTERN = '^[A-Za-z0-9_.:/=+@-]{1,64}$';

/** A list of tags as JSON Schema: what create, the batch items and `PUT /executions/{id}/tags` accept. */
export const TAGS_SCHEMA = { type: 'array', maxItems: MAX_TAGS, items: { type: 'string', pattern: TAG_PATTERN } } as const;

const TAG = /* @__PURE__ */ new RegExp(TAG_PATTERN);

/** True when `value` is one valid tag. */
export const isTag = (value: string): boolean => TAG.test(value);

/** The distinct tags of a list, in the order first given (the index keeps one item per tag). */
export function distinctTags(tags: readonly string[] | undefined): string[] {
  return [...new Set(tags ?? [])];
}

/** What turns the tags `before` into `after`: the tags to index and the tags to drop. */
export interface TagDiff {
  readonly add: readonly string[];
  readonly remove: readonly string[];
}

/** The tags added and removed between two lists (as sets: order and repeats do not count). */
export function tagDiff(before: readonly string[] | undefined, after: readonly string[] | undefined): TagDiff {
  const old = new Set(before ?? []);
  const now = new Set(after ?? []);
  return { add: [...now].filter((tag) => !old.has(tag)), remove: [...old].filter((tag) => !now.has(tag)) };
}

/** True when two lists hold the same tags (as sets). */
export function sameTags(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const { add, remove } = tagDiff(a, b);
  return add.length === 0 && remove.length === 0;
}
