import { randomBytes } from 'node:crypto';
import { allBuiltinDetectors } from '../../proxy/masking/detector-registry.js';
import { luhnCheckDigit } from '../../proxy/masking/detectors/card-check.js';
import { ibanCheckDigits } from '../../proxy/masking/detectors/iban-check.js';
import type { ContentRule } from '../../proxy/masking/masking-types.js';
import { TextMasker } from '../../proxy/masking/text-masker.js';
import { measure, type BenchResult } from './measure.js';

// Content masking runs every detector over every text cell of every result row. Three shapes:
// a large document dense with PII (about one item every four words), the same amount of
// ordinary prose and numbers with none, and many short cells masked one at a time. Texts are
// generated from a fixed seed so runs compare.

const MB = 1 << 20;

const WORDS = (
  'the order was shipped to our customer after review and the invoice lists 3 items at 19.99 each ' +
  'please contact support if the delivery on 2024-01-15 at 12:30 is late version 2.4.1 of the app ' +
  'reports 1,024 events per second while room 42 and floor 7 remain open until march'
).split(' ');
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];
const CITIES = ['Lisbon', 'Osaka', 'Denver', 'Nairobi', 'Bergen', 'Quito', 'Perth', 'Lyon'];
const JWT =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\nVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n-----END RSA PRIVATE KEY-----';

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generator(seed: number) {
  const next = random(seed);
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(items: readonly T[]): T => items[int(items.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => String(int(10))).join('');
  const alnum = (n: number) => Array.from({ length: n }, () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[int(62)]).join('');
  const card = () => {
    const body = `4${digits(14)}`;
    const n = body + String(luhnCheckDigit(body));
    return `${n.slice(0, 4)} ${n.slice(4, 8)} ${n.slice(8, 12)} ${n.slice(12)}`;
  };
  const iban = () => {
    const compact = `DE00${digits(18)}`;
    return `DE${ibanCheckDigits(compact)}${compact.slice(4)}`;
  };
  const pii: readonly (() => string)[] = [
    () => `${pick(NAMES)}.${pick(NAMES)}${int(100)}@example.com`,
    () => `+1 555-01${digits(2)}`,
    () => `(415) ${digits(3)}-${digits(4)}`,
    card,
    iban,
    () => `${100 + int(500)}-${10 + int(89)}-${1000 + int(8999)}`,
    () => `10.${int(256)}.${int(256)}.${int(256)}`,
    () => `2001:db8::${int(65535).toString(16)}`,
    () => JWT,
    () => `AKIA${alnum(16).toUpperCase()}`,
    () => `ghp_${alnum(36)}`,
    () => `password=${alnum(12)}`,
    () => `"api_key": "${alnum(24)}"`,
  ];
  const word = () => pick(WORDS);
  return {
    /** About `size` characters of prose with a PII item every `every` words (0: none). */
    text(size: number, every: number): string {
      const parts: string[] = [];
      let length = 0;
      let n = 0;
      while (length < size) {
        const part = every > 0 && ++n % every === 0 ? (n % (every * 400) === 0 ? PEM : pick(pii)()) : word();
        parts.push(part);
        length += part.length + 1;
      }
      return parts.join(' ').slice(0, size);
    },
    /** A short cell: a name, a city, a note; one in twenty holds an email. */
    cell(i: number): string {
      if (i % 20 === 0) return `${pick(NAMES)}@example.org`;
      switch (i % 3) {
        case 0:
          return `${pick(NAMES)} ${pick(NAMES)}`;
        case 1:
          return pick(CITIES);
        default:
          return `${word()} ${word()} ${word()} ${word()}`;
      }
    },
  };
}

export async function maskingBenchmarks(): Promise<BenchResult[]> {
  const rules: ContentRule[] = [{ rule: 'pii', detectors: allBuiltinDetectors(), spec: { strategy: 'redact' } }];
  const masker = new TextMasker(rules, randomBytes(32));
  const gen = generator(42);
  const dense = gen.text(MB, 4);
  const clean = gen.text(MB, 0);
  const cells = Array.from({ length: 100_000 }, (_, i) => gen.cell(i));
  const hits = new Map<string, number>();
  const results: BenchResult[] = [];
  results.push(await measure('masking all detectors, dense PII (per 1 MB)', () => masker.mask(dense, hits), 3));
  results.push(await measure('masking all detectors, no PII (per 1 MB)', () => masker.mask(clean, hits), 3));
  // One op is one cell; the cells are walked in turn.
  let i = 0;
  results.push(await measure('masking all detectors, short cells (per cell)', () => masker.mask(cells[i++ % cells.length]!, hits), 2));
  return results;
}
