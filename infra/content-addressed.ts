import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Writes `text` to `<dir>/<name>-<hash of text><extension>` unless that file is there, and returns
 * its absolute path (an esbuild alias must be absolute: a relative one reads as a package name). The
 * name changes with the content, so a bundle built from one file never sees it change; the file is
 * written aside, then renamed, so a synth that dies mid-write or a concurrent one never leaves or
 * reads half a file.
 */
export function writeContentAddressed(dir: string, name: string, extension: string, text: string, hashLength = 16): string {
  const folder = resolve(dir);
  const path = join(folder, `${name}${createHash('sha256').update(text).digest('hex').slice(0, hashLength)}${extension}`);
  if (existsSync(path)) return path;
  mkdirSync(folder, { recursive: true });
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, text);
  renameSync(partial, path);
  return path;
}
