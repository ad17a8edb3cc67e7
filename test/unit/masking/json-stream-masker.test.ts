import { describe, expect, it } from 'vitest';
import type { MaskingRuleConfig } from '../../../proxy/config/schema.js';
import type { JsonPathRules } from '../../../proxy/masking/json-path-rules.js';
import { type PathStates } from '../../../proxy/masking/json-path.js';
import { JsonMaskError, JsonStreamMasker, type JsonMaskerOptions } from '../../../proxy/masking/json-stream-masker.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';
import type { ContentMasker } from '../../../proxy/masking/masking-types.js';
import { fuzzSeed, prng } from '../../helpers/prng.js';

// The streaming JSON masker: every fixture split at every byte boundary must give the bytes the
// whole document gives; random documents are checked against a reference built on JSON.parse.

const KEY = Buffer.alloc(32, 7);

function profile(rules: readonly Partial<MaskingRuleConfig>[]) {
  return new MaskingRules(rules as MaskingRuleConfig[], KEY).profileFor(['ci']);
}

const PROFILE = profile([
  { name: 'emails', detect: 'email', strategy: 'partial' },
  { name: 'cards', detect: 'card', strategy: 'redact' },
  { name: 'customer-email', json_paths: ['$.customers[*].email'], strategy: 'hash' },
  { name: 'address', json_paths: ['$.customers[*].address', '$..secret'], strategy: 'redact' },
  { name: 'drop', json_paths: ['$.drop'], strategy: 'null' },
]);

function options(overrides: Partial<JsonMaskerOptions> = {}): JsonMaskerOptions {
  return { ...(PROFILE.jsonPaths ? { paths: PROFILE.jsonPaths } : {}), content: PROFILE.content, hits: new Map(), ...overrides };
}

/** The masker's output for `input` fed in pieces of the given sizes (cycled). */
function run(input: Buffer, cuts: readonly number[] = [input.length], overrides: Partial<JsonMaskerOptions> = {}): string {
  const masker = new JsonStreamMasker(options(overrides));
  const out: Buffer[] = [];
  let at = 0;
  let index = 0;
  while (at < input.length) {
    const size = Math.max(1, cuts[index++ % cuts.length]!);
    out.push(...masker.write(input.subarray(at, at + size)));
    at += size;
  }
  out.push(...masker.end());
  return Buffer.concat(out).toString('utf8');
}

const FIXTURES: readonly string[] = [
  JSON.stringify({
    customers: [
      { email: 'ada@example.com', name: 'Ada', card: '4111 1111 1111 1111', address: { street: 'Main', zip: 12345, geo: [1.5, -2e3, true, false, null] } },
      { email: null, 'bob@example.com': 'key holds an email', notes: 'call carol@example.org' },
    ],
    meta: { escaped: 'tab\there \u00e9 \u2028 "quoted" \\ back', emoji: '\ud83d\ude00 dora@example.com', secret: { deep: ['x', 2] } },
    drop: 'gone',
    empty: {},
    list: [],
  }),
  '  \n[1, -0.5e+10, "x@example.com", {"a": [ { } , [ ] ] }, true, false, null]  ',
  '{"customers":[{"email":"\\u0061da@example.com","address":"1 \\"Main\\" St"}]}',
  '"just a string with e@example.com"',
  '42',
  '\ufeff{"bom": "e@example.com"}',
  '{"a":1}\n{"customers":[{"email":"x@y.io"}]}\n["z@example.com"]\n',
  '{"x": "\\\\"}',
  '{"k\\"ey": "v", "\\u0065mail@example.com": 1}',
];

describe('the streaming JSON masker', () => {
  it('masks by path and by detectors, member names included', () => {
    const out = JSON.parse(run(Buffer.from(FIXTURES[0]!))) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- a test reading arbitrary JSON
    const [ada, bob] = out.customers;
    expect(ada.email).toMatch(/^[0-9a-f]{32}$/);
    expect(ada.card).toBe('[redacted:card]');
    expect(ada.address).toEqual({ street: '[redacted]', zip: '[redacted]', geo: ['[redacted]', '[redacted]', '[redacted]', '[redacted]', null] });
    expect(bob.email).toBeNull();
    expect(bob['****@example.com']).toBe('key holds an email');
    expect(bob.notes).toBe('call ****@example.org');
    expect(out.meta.escaped).toBe('tab\there \u00e9 \u2028 "quoted" \\ back');
    expect(out.meta.emoji).toBe('\ud83d\ude00 ****@example.com');
    expect(out.meta.secret).toEqual({ deep: ['[redacted]', '[redacted]'] });
    expect(out.drop).toBeNull();
    expect(out.empty).toEqual({});
  });

  it('runs detectors over numbers too: a card sent as a JSON number becomes a masked string', () => {
    const input = '{"card": 4111111111111111, "id": 4111111111111112, "n": [5555555555554444,1.5]}';
    const out = JSON.parse(run(Buffer.from(input))) as Record<string, unknown>;
    expect(out).toEqual({ card: '[redacted:card]', id: 4111111111111112, n: ['[redacted:card]', 1.5] });
    const whole = run(Buffer.from(input));
    for (let cut = 1; cut < input.length; cut++) expect(run(Buffer.from(input), [cut, input.length]), `cut at ${cut}`).toBe(whole);
  });

  it('decodes escapes before matching: an escaped address is found', () => {
    expect(JSON.parse(run(Buffer.from(FIXTURES[2]!)))).toEqual({ customers: [{ email: expect.stringMatching(/^[0-9a-f]{32}$/), address: '[redacted]' }] });
    expect(run(Buffer.from(FIXTURES[8]!))).toBe('{"k\\"ey": "v", "****@example.com": 1}');
  });

  it('gives the same bytes for every fixture split at every byte boundary, and in one-byte pieces', () => {
    for (const fixture of FIXTURES) {
      const input = Buffer.from(fixture);
      const whole = run(input);
      for (let cut = 1; cut < input.length; cut++) expect(run(input, [cut, input.length]), `${fixture} cut at ${cut}`).toBe(whole);
      expect(run(input, [1])).toBe(whole);
    }
  });

  it('leaves bytes it does not change exactly as they came, whitespace and number forms included', () => {
    const input = ' {"n": 1.50E+3, "s" : "plain",\n"t":[ true ,false ,null ] } ';
    expect(run(Buffer.from(input))).toBe(input);
    const none = new MaskingRules([], KEY).profileFor([]);
    const doc = Buffer.from(FIXTURES[0]!);
    expect(run(doc, [13], { content: none.content, paths: undefined })).toBe(FIXTURES[0]);
  });

  it('returns the chunk itself when nothing in it changed', () => {
    const masker = new JsonStreamMasker(options());
    const chunk = Buffer.from('[{"a": "plain"}, ');
    const [out] = masker.write(chunk);
    expect(out).toBe(chunk);
  });

  it('refuses what is not JSON, naming what it met', () => {
    const cases: [string, RegExp][] = [
      ['{"a": 1,}', /unexpected "}"/],
      ['[1 2]', /unexpected "2"/],
      ['{"a" 1}', /unexpected "1"/],
      ['{"a": tru}', /unexpected "}"/],
      ['[1]]', /unexpected "]"/],
      ['{"a": [1}', /"}" closes an array/],
      ['{"a": 1', /unclosed/],
      ['"open', /ends inside a value/],
      ["{'a': 1}", /unexpected "'"/],
      ['[NaN]', /unexpected "N"/],
      ['{"a": "\\x"}', /invalid escape/],
      ['{"a"}', /unexpected "}"/],
      ['{"a":', /ends after a member name|unclosed/],
    ];
    for (const [input, message] of cases) {
      expect(() => run(Buffer.from(input)), input).toThrow(JsonMaskError);
      expect(() => run(Buffer.from(input)), input).toThrow(message);
    }
  });

  it('bounds nesting depth and the size of one held value', () => {
    expect(() => run(Buffer.from('['.repeat(2000)), [64], { maxDepth: 1000 })).toThrow(/deeper than 1000/);
    const big = Buffer.from(`["${'a'.repeat(5000)}"]`);
    expect(() => run(big, [100], { maxToken: 4096 })).toThrow(/more than 4096 bytes/);
    // A value that is not held (nothing could replace it) may be any size.
    const none = new MaskingRules([], KEY).profileFor([]);
    expect(run(big, [100], { maxToken: 4096, content: none.content, paths: undefined })).toBe(big.toString());
  });

  it('counts what each rule masked', () => {
    const hits = new Map<string, number>();
    run(Buffer.from(FIXTURES[0]!), [7], { hits });
    // A null is never counted: there is nothing in it to hide.
    expect(Object.fromEntries(hits)).toEqual({ 'customer-email': 1, address: 8, cards: 1, emails: 3, drop: 1 });
  });

  it('matches a reference built on JSON.parse for random documents, split at random places', () => {
    const seed = fuzzSeed(0x5eed);
    const random = prng(seed);
    for (let round = 0; round < 300; round++) {
      const value = randomValue(random, 0, true);
      const text = JSON.stringify(value, null, random() < 0.3 ? 2 : undefined);
      const input = Buffer.from(text);
      const cuts = Array.from({ length: 5 }, () => 1 + Math.floor(random() * 40));
      const output = run(input, cuts);
      expect(JSON.parse(output), `seed ${seed} round ${round}: ${text}`).toEqual(reference(value));
    }
  });
});

const NAMES = ['customers', 'email', 'address', 'name', 'secret', 'drop', 'id', 'x', 'é', 'a b'];
const STRINGS = ['plain', 'ada@example.com', 'mail bo@example.org now', '4111 1111 1111 1111', 'tab\t"q"\\', '\u00e9\u2028', '\ud83d\ude00', ''];

function randomValue(random: () => number, depth: number, top = false): unknown {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const r = random();
  if (top && r < 0.3) return { customers: Array.from({ length: 1 + Math.floor(random() * 3) }, () => randomValue(random, depth + 1)) };
  if (depth > 4 || r < 0.35) {
    const scalar = random();
    if (scalar < 0.5) return pick(STRINGS);
    if (scalar < 0.7) return Math.floor(random() * 2_000_000) - 1_000_000;
    if (scalar < 0.75) return 4111111111111111;
    if (scalar < 0.9) return random() < 0.5;
    return null;
  }
  if (r < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => randomValue(random, depth + 1));
  const object: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) object[pick(NAMES)] = randomValue(random, depth + 1);
  return object;
}

/** What the masker should produce, computed on the parsed value with the same rules. */
function reference(value: unknown): unknown {
  const paths = PROFILE.jsonPaths as JsonPathRules;
  const content: ContentMasker = PROFILE.content;
  const walk = (node: unknown, states: PathStates, action: ReturnType<JsonPathRules['actionFor']>): unknown => {
    if (Array.isArray(node)) return node.map((item, index) => visit(item, states, index, action));
    if (node !== null && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(node)) {
        const masked = content.mask(key, new Map());
        out[masked === undefined ? key : (masked ?? '[redacted]')] = visit(item, states, key, action);
      }
      return out;
    }
    if (action) return node === null ? null : action.apply(String(node));
    if (typeof node !== 'string' && typeof node !== 'number') return node;
    const masked = content.mask(String(node), new Map());
    return masked === undefined ? node : masked;
  };
  const visit = (node: unknown, parent: PathStates, step: string | number, inherited: ReturnType<JsonPathRules['actionFor']>) => {
    const states = paths.set.step(parent, step);
    return walk(node, states, paths.actionFor(states.matched, inherited));
  };
  return walk(value, paths.set.root, paths.actionFor(paths.set.root.matched, undefined));
}
