/**
 * Where nested work runs. A map item's place is only known at run time (its index), so it travels
 * in the state data as a chain built by the Map state's ItemSelector; a parallel branch's or a
 * choice case's place is known when the task is compiled, so the compiler writes it into each
 * state's parameters as static segments below that chain.
 */

/**
 * A map item, as the Map state's ItemSelector writes it into the item's state data, under the
 * levels it is nested in (a map inside a parallel branch has that branch as its parent link).
 */
export interface ScopeChain {
  readonly parent?: ScopeChain | null;
  /** The map (or parallel, or choice) step's name. */
  readonly name: string;
  readonly index: number;
  /** Items of the map, branches of the parallel; absent for a choice case. */
  readonly total?: number;
  /** @default 'items' */
  readonly unit?: 'items' | 'branches' | 'cases';
}

/** A parallel branch or choice case, written by the compiler. */
export interface ScopeSegment {
  /** The parallel or choice step's name. */
  readonly name: string;
  readonly index: number;
  /** Branches of the parallel; absent for a choice case (only one runs). */
  readonly total?: number;
}

/** One level of nesting, outermost first. */
export interface ScopeLevel {
  /** Path from the top level down to and including this level, e.g. `summarize[3]/both[1]`. */
  readonly path: string;
  readonly name: string;
  readonly index: number;
  readonly total?: number;
  readonly unit: 'items' | 'branches' | 'cases';
}

/** The levels of a place, outermost first: the chain's map items, then the static segments. */
export function scopeLevels(chain: ScopeChain | null | undefined, segments: readonly ScopeSegment[] = []): ScopeLevel[] {
  const items: ScopeChain[] = [];
  for (let link = chain; link; link = link.parent) items.unshift(link);
  const levels: ScopeLevel[] = [];
  let path = '';
  const add = (name: string, index: number, total: number | undefined, unit: ScopeLevel['unit']) => {
    path = `${path}${path ? '/' : ''}${name}[${index}]`;
    levels.push({ path, name, index, ...(total === undefined ? {} : { total }), unit });
  };
  for (const item of items) add(item.name, item.index, item.total, item.unit ?? 'items');
  for (const segment of segments) add(segment.name, segment.index, segment.total, segment.total === undefined ? 'cases' : 'branches');
  return levels;
}
