import { Document, isMap, isSeq, parseDocument } from 'yaml';
import type { RawRule } from './rule-draft.js';

// The `masking:` section as YAML, written the way the gateway writes rules into its file: in
// the file's own style (a file whose rules are all one-line flow mappings gets more of those;
// otherwise block mappings), lists on one line. One block per rule, so the editor can mark the
// rule that is open.

export interface SectionYaml {
  readonly head: string;
  readonly rules: readonly string[];
}

export function sectionYaml(rules: readonly RawRule[], options: { readonly flow?: boolean } = {}): SectionYaml {
  if (rules.length === 0) return { head: 'masking: []\n', rules: [] };
  return { head: 'masking:\n', rules: rules.map((rule) => ruleYaml(rule, options.flow ?? false)) };
}

export function sectionText(section: SectionYaml): string {
  return section.head + section.rules.join('');
}

/** True when the file's section (as `masking.rules` returns it) holds only flow mappings. */
export function isFlowSection(yaml: string): boolean {
  try {
    const value = parseDocument(yaml).get('masking', true);
    return isSeq(value) && value.items.length > 0 && value.items.every((item) => isMap(item) && item.flow === true);
  } catch {
    return false;
  }
}

function ruleYaml(rule: RawRule, flow: boolean): string {
  const doc = new Document([rule]);
  const seq = doc.contents;
  if (isSeq(seq)) {
    for (const item of seq.items) {
      if (!isMap(item)) continue;
      item.flow = flow;
      for (const pair of item.items) if (isSeq(pair.value)) pair.value.flow = true;
    }
  }
  // Indented under `masking:` as the file holds it.
  return doc
    .toString({ lineWidth: 0 })
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line === '' ? '\n' : `  ${line}\n`))
    .join('');
}
