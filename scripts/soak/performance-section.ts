/**
 * docs/performance.md is written whole by `npm run bench`; its "Soak and scale" section is written
 * by `npm run soak -- --write` (a soak takes far longer than a bench run, so the bench does not run
 * one). The bench keeps that section as it finds it, and the soak replaces only it.
 */

/** The title of the soak's section (a `## ` heading). */
export const SOAK_SECTION_TITLE = 'Soak and scale';

const HEADING = `## ${SOAK_SECTION_TITLE}\n`;

/** The soak's section of a performance.md text (heading included, up to the next `## ` heading or the end), or '' when it has none. */
export function soakSection(doc: string): string {
  const start = doc.startsWith(HEADING) ? 0 : doc.indexOf(`\n${HEADING}`) + 1;
  if (start === 0 && !doc.startsWith(HEADING)) return '';
  const next = doc.indexOf('\n## ', start + HEADING.length);
  return `${doc.slice(start, next === -1 ? undefined : next + 1).trimEnd()}\n`;
}

/** `doc` with its soak section replaced by `section` (a `## Soak and scale` heading and body), or with it appended. */
export function withSoakSection(doc: string, section: string): string {
  const current = soakSection(doc);
  const text = `${section.trimEnd()}\n`;
  if (current === '') return `${doc.trimEnd()}\n\n${text}`;
  const at = doc.indexOf(current);
  return doc.slice(0, at) + text + doc.slice(at + current.length);
}
