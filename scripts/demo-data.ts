// The demo's sample schema: a small shop whose customers carry exactly the data Sluice exists to
// protect (emails, phone numbers, payment cards, free-text notes that leak more of the same).
// Deterministic, so every demo run and every screenshot shows the same rows. All of it is fake:
// phone numbers are in the 555-01xx range reserved for fiction, cards are test-card prefixes.
import type pg from 'pg';

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Linus', 'Radia', 'Ken', 'Frances', 'Dennis', 'Hedy', 'Tim', 'Katherine', 'John', 'Sophie', 'Niklaus', 'Shafi', 'Leslie'];
const LAST = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Torvalds', 'Perlman', 'Thompson', 'Allen', 'Ritchie', 'Lamarr', 'Berners-Lee', 'Johnson', 'Backus', 'Wilson', 'Wirth', 'Goldwasser', 'Lamport'];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net'];
const CARD_PREFIXES = ['411111', '555555', '378282', '601111'];
const NOTES = [
  'Prefers email contact.',
  'Called support about a late delivery; call back on {phone}.',
  'Asked to update billing to card {card}.',
  'VIP: forward invoices to {email}.',
  'Left a voicemail, no callback needed.',
  '',
];

/** Deterministic PRNG so the sample is identical on every machine. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
}

/** Appends a Luhn check digit, so card detectors see valid-looking test numbers. */
function withLuhn(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 0) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return `${digits}${(10 - (sum % 10)) % 10}`;
}

export interface Customer {
  readonly fullName: string;
  readonly email: string;
  readonly phone: string;
  readonly card: string;
  readonly ssn: string;
  readonly notes: string;
}

export function sampleCustomers(count: number): Customer[] {
  const next = random(20261125);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return Array.from({ length: count }, (_, index) => {
    const first = pick(FIRST);
    const last = pick(LAST);
    const email = `${first}.${last}${index}@${pick(DOMAINS)}`.toLowerCase();
    const phone = `+1 555 01${String(Math.floor(next() * 100)).padStart(2, '0')} ${String(Math.floor(next() * 10_000)).padStart(4, '0')}`;
    const prefix = pick(CARD_PREFIXES);
    const card = withLuhn(prefix + Array.from({ length: 15 - prefix.length }, () => Math.floor(next() * 10)).join(''));
    const notes = pick(NOTES).replace('{phone}', phone).replace('{card}', card).replace('{email}', email);
    return { fullName: `${first} ${last}`, email, phone, card, ssn: sampleSsn(index), notes };
  });
}

/** A US SSN in the valid ranges (area 001-665 and 667-899, group 01-99, serial 0001-9999), one per customer. */
function sampleSsn(index: number): string {
  const area = 100 + ((index * 37) % 500);
  const group = 1 + ((index * 13) % 99);
  const serial = 1 + ((index * 7919) % 9999);
  return `${area}-${String(group).padStart(2, '0')}-${String(serial).padStart(4, '0')}`;
}

/** Creates the shop tables and fills them once; later runs keep what is there. */
export async function loadSampleSchema(client: pg.Client): Promise<{ customers: number; orders: number }> {
  await client.query(`
    CREATE TABLE IF NOT EXISTS customers (
      id serial PRIMARY KEY,
      full_name text NOT NULL,
      email text NOT NULL UNIQUE,
      phone text,
      card_number text,
      ssn text,
      notes text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS orders (
      id serial PRIMARY KEY,
      customer_id int NOT NULL REFERENCES customers (id),
      amount numeric(10, 2) NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'refunded')),
      ordered_at timestamptz NOT NULL
    );
    ALTER TABLE customers ADD COLUMN IF NOT EXISTS ssn text;`);
  const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM customers');
  if (rows[0]!.n === 0) {
    const customers = sampleCustomers(1_000);
    await client.query(
      `INSERT INTO customers (full_name, email, phone, card_number, ssn, notes)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])`,
      [customers.map((c) => c.fullName), customers.map((c) => c.email), customers.map((c) => c.phone), customers.map((c) => c.card), customers.map((c) => c.ssn), customers.map((c) => c.notes)],
    );
    await client.query(`
      INSERT INTO orders (customer_id, amount, status, ordered_at)
      SELECT 1 + (i * 7919) % 1000, round((5 + (i * 37) % 500)::numeric + 0.99, 2),
             (ARRAY['pending', 'paid', 'shipped', 'refunded'])[1 + i % 4],
             timestamptz '2026-01-01' + (i || ' hours')::interval
      FROM generate_series(1, 5000) i`);
  }
  // A shop created before the ssn column existed gets its numbers now.
  const missing = await client.query<{ id: number }>('SELECT id FROM customers WHERE ssn IS NULL ORDER BY id');
  if (missing.rows.length > 0) {
    await client.query('UPDATE customers c SET ssn = s.ssn FROM unnest($1::int[], $2::text[]) AS s(id, ssn) WHERE c.id = s.id', [missing.rows.map((row) => row.id), missing.rows.map((row) => sampleSsn(row.id - 1))]);
  }
  const counts = await client.query<{ customers: number; orders: number }>('SELECT (SELECT count(*) FROM customers)::int AS customers, (SELECT count(*) FROM orders)::int AS orders');
  return counts.rows[0]!;
}
