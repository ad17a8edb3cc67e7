import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../proxy/config/load-config.js';
import { fuzzSeed, prng } from '../../helpers/prng.js';

const EXAMPLE = readFileSync(resolve(import.meta.dirname, '../../../docs/sluice.example.yaml'), 'utf8');
const ENV = { PROD_DB_PASSWORD: 'x', BILLING_TOKEN: 'y' };
const NOISE = [':', '-', '{', '}', '[', ']', '"', "'", '#', '&', '*', '!', '|', '>', '${env:', '${file:', '\t', '\n', ' ', 'x', '0', '1e999', 'null', '~', '\u0000', '\u202e'];

function mutate(text: string, random: () => number): string {
  let out = text;
  const edits = 1 + Math.floor(random() * 4);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * out.length);
    const roll = random();
    if (roll < 0.3) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(random() * 20));
    else if (roll < 0.7) out = out.slice(0, at) + NOISE[Math.floor(random() * NOISE.length)]! + out.slice(at);
    else {
      const lines = out.split('\n');
      const a = Math.floor(random() * lines.length);
      const b = Math.floor(random() * lines.length);
      [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      out = lines.join('\n');
    }
  }
  return out;
}

describe('config loading under mangled input', () => {
  it('either loads or reports ConfigError issues with paths, for 2,000 mutated files', () => {
    const random = prng(fuzzSeed(20261125));
    let refused = 0;
    for (let i = 0; i < 2_000; i++) {
      const text = mutate(EXAMPLE, random);
      try {
        parseConfig(text, { file: '/fuzz/sluice.yaml', env: ENV });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw new Error(`mutation ${i} threw ${String(error)}:\n${text}`, { cause: error });
        expect(error.issues.length).toBeGreaterThan(0);
        for (const issue of error.issues) expect(issue.message.length).toBeGreaterThan(0);
        refused++;
      }
    }
    // Most mutations break something; a fuzzer that never hits errors tests nothing.
    expect(refused).toBeGreaterThan(500);
  });
});
