import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What the checkpoint file holds: per mapping, the stream it read and each shard's last sequence number. */
interface CheckpointFile {
  readonly [mappingId: string]: { readonly streamArn: string; readonly shards: Readonly<Record<string, string>> };
}

/**
 * Where each stream event source mapping is in each shard: the sequence number of the last record
 * it is done with (delivered, given up, or filtered out). In memory, or kept in `file` (JSON,
 * rewritten whole and renamed into place, so a kill leaves the old file or the new one) so that a
 * restarted stack continues after it instead of reading the stream again from its start. A batch
 * in flight when the process dies is delivered again: at least once, as Lambda.
 */
export class StreamCheckpoints {
  private state: Record<string, { streamArn: string; shards: Record<string, string> }> = {};

  /**
   * @param file the checkpoint file; without one, checkpoints live as long as this object.
   * @throws Error naming the file when it exists and is not a checkpoint file.
   */
  constructor(readonly file?: string) {
    if (!file || !existsSync(file)) return;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as CheckpointFile;
      for (const [mappingId, entry] of Object.entries(parsed)) {
        if (typeof entry?.streamArn !== 'string' || typeof entry.shards !== 'object') throw new Error(`bad entry ${mappingId}`);
        this.state[mappingId] = { streamArn: entry.streamArn, shards: { ...entry.shards } };
      }
    } catch (error) {
      throw new Error(
        `${file} is not a checkpoint file of the local event source mappings (${error instanceof Error ? error.message : String(error)}); delete it to read the streams from their StartingPosition`,
      );
    }
  }

  /** Whether `mappingId` has read `streamArn` before (a checkpoint of another stream, e.g. a table created again, does not count). */
  has(mappingId: string, streamArn: string): boolean {
    return this.state[mappingId]?.streamArn === streamArn;
  }

  /** The last sequence number `mappingId` is done with in `shardId` of `streamArn`, if any. */
  get(mappingId: string, streamArn: string, shardId: string): string | undefined {
    const entry = this.state[mappingId];
    return entry?.streamArn === streamArn ? entry.shards[shardId] : undefined;
  }

  /** Records that `mappingId` is done with `shardId` of `streamArn` up to `sequenceNumber` (and writes the file). */
  set(mappingId: string, streamArn: string, shardId: string, sequenceNumber: string): void {
    const entry = this.state[mappingId];
    if (entry?.streamArn === streamArn) {
      if (entry.shards[shardId] === sequenceNumber) return;
      entry.shards[shardId] = sequenceNumber;
    } else {
      this.state[mappingId] = { streamArn, shards: { [shardId]: sequenceNumber } };
    }
    if (!this.file) return;
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, `${JSON.stringify(this.state, null, 2)}\n`);
    renameSync(`${this.file}.tmp`, this.file);
  }
}
