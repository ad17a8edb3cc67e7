import { PathSet, type JsonPath } from './json-path.js';
import type { MaskingStrategy } from './masking-types.js';

// The `json_paths` masking rules that apply to one caller, compiled into one PathSet: the
// streaming JSON masker (json-stream-masker.ts) steps it once per member or element and asks
// which rule, if any, covers the value it reached.

/** A json_paths rule compiled for one caller: what replaces a value at one of its paths. */
export interface JsonPathAction {
  readonly rule: string;
  readonly strategy: MaskingStrategy;
  /** Lower wins where several rules cover one value: scoped rules first, then the most restrictive strategy. */
  readonly rank: number;
  /** The replacement for a value's text (a string's content, a number's digits); null means JSON null. */
  readonly apply: (value: string) => string | null;
}

export interface JsonPathRule {
  readonly paths: readonly JsonPath[];
  readonly action: JsonPathAction;
}

export class JsonPathRules {
  readonly set: PathSet;
  /** The action of each path of `set`, by index. */
  readonly #owners: readonly JsonPathAction[];

  constructor(rules: readonly JsonPathRule[]) {
    this.set = new PathSet(rules.flatMap((rule) => rule.paths));
    this.#owners = rules.flatMap((rule) => rule.paths.map(() => rule.action));
  }

  /**
   * The action for a value that the paths `matched` end at, inside a value `inherited` already
   * covers (a rule on `$.customer` covers every value below it): the lowest rank wins.
   */
  actionFor(matched: readonly number[], inherited: JsonPathAction | undefined): JsonPathAction | undefined {
    let best = inherited;
    for (const index of matched) {
      const action = this.#owners[index]!;
      if (!best || action.rank < best.rank) best = action;
    }
    return best;
  }
}
