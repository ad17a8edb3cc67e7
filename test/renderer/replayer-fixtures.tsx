import { useEffect, useRef, useState } from 'react';
import type { TranscriptEvent } from '../../proxy/common/transcript.js';
import type { ReplayerSession } from '../../renderer/src/screens/replayer/replayer.js';
import { TerminalSync } from '../../renderer/src/screens/replayer/terminal-sync.js';
import type { TerminalViewProps } from '../../renderer/src/screens/replayer/terminal-view.js';

// Shared by the replayer's component tests: a session recorded with the payload shapes the
// gateway writes (statement-gate.ts, client-session.ts, approval-rules.ts), and a terminal for
// jsdom. xterm needs a canvas and layout jsdom lacks; this one keeps the real TerminalSync (what
// gets written, when) and shows the text without escape sequences in a <pre>.

/** t0 + seconds, in µs (event times are µs). */
const T0 = Date.UTC(2025, 4, 6, 9, 30, 0) * 1000;
const at = (seconds: number) => T0 + seconds * 1_000_000;

export const SESSION: ReplayerSession = {
  id: '01JTESTSESSION0000000000000',
  resource: 'testdb',
  protocol: 'postgres',
  identity: { subject: 'ci-job', issuer: 'sluice', groups: ['ci'] },
  startedAt: T0 / 1000,
  endedAt: at(15) / 1000,
  status: 'closed',
  clientAddress: '127.0.0.1:50000',
  application: 'psql',
};

const query = (text: string, extra: Record<string, unknown> = {}) => ({ protocol: 'simple', text, duration_ms: 0, rows: 0, outcome: 'ok', tags: [], ...extra });

/**
 * Timeline with skip idle (pauses over 2 s count as 2 s): connect 0, SELECT 1 at 1 s, the denied
 * DROP at 3 s, a masked SELECT at 5 s (7 s later, shortened to 2), a failing statement at 6 s,
 * a DELETE held for approval at 7 s, approved at 9 s, the end at 10 s.
 */
export const EVENTS: TranscriptEvent[] = [
  { seq: 1, time: at(0), kind: 'connect', payload: { identity: { subject: 'ci-job', issuer: 'sluice', method: 'token', groups: ['ci'] }, resource: 'testdb', client_address: '127.0.0.1:50000', application: 'psql' } },
  { seq: 2, time: at(1), kind: 'query', payload: query('SELECT 1 AS one;', { rows: 1, tags: ['SELECT 1'], sample: { columns: ['one'], rows: [['1']], truncated: false }, decision: { effect: 'allow', rule: 'ci-read' } }) },
  {
    seq: 3,
    time: at(3),
    kind: 'decision',
    payload: {
      effect: 'deny',
      rule: 'no-ddl',
      reason: 'schema changes go through migrations',
      trace: [
        { rule: 'no-ddl', effect: 'deny', why: 'kind ddl on public.customers' },
        { rule: 'ci-read', effect: 'allow', why: 'group ci' },
      ],
      text: 'DROP TABLE customers;',
      statements: [{ kind: 'ddl', operations: ['drop'], reads: [], writes: ['public.customers'], flags: [] }],
    },
  },
  { seq: 4, time: at(3), kind: 'query', payload: query('DROP TABLE customers;', { outcome: 'error', error: { code: '42501', message: 'Sluice denied this statement' }, decision: { effect: 'deny', rule: 'no-ddl' } }) },
  {
    seq: 5,
    time: at(10),
    kind: 'query',
    payload: query('SELECT id, email FROM customers;', { rows: 2, tags: ['SELECT 2'], masked: { emails: 2 }, sample: { columns: ['id', 'email'], rows: [['1', '[redacted]'], ['2', '[redacted]']], truncated: false }, decision: { effect: 'allow', rule: 'ci-read' } }),
  },
  { seq: 6, time: at(11), kind: 'query', payload: query('SELECT 1/0;', { outcome: 'error', error: { code: '22012', message: 'division by zero' }, decision: { effect: 'allow', rule: 'ci-read' } }) },
  { seq: 7, time: at(12), kind: 'approval', payload: { action: 'requested', id: 'appr-1', statement_hash: 'ab12', rule: 'deletes-need-approval', reasons: ['delete on public.customers'], expires_at: at(600) / 1000, quorum: 1 } },
  {
    seq: 8,
    time: at(12),
    kind: 'decision',
    payload: { effect: 'approve', rule: 'deletes-need-approval', reason: 'deletes need a second pair of eyes', trace: [{ rule: 'deletes-need-approval', effect: 'approve', why: 'kind delete' }], text: 'DELETE FROM customers WHERE id = 2;', statements: [], approval: 'appr-1' },
  },
  { seq: 9, time: at(14), kind: 'approval', payload: { action: 'vote', id: 'appr-1', approver: { subject: 'alice', issuer: 'sluice', groups: ['approvers'] }, decision: 'approve', scope: 'once', reason: 'ticket 42' } },
  { seq: 10, time: at(14), kind: 'approval', payload: { action: 'approved', id: 'appr-1', by: ['alice'], reason: 'alice: ticket 42' } },
  { seq: 11, time: at(14), kind: 'approval', payload: { action: 'executed', id: 'appr-1' } },
  { seq: 12, time: at(14.5), kind: 'query', payload: query('DELETE FROM customers WHERE id = 2;', { rows: 1, tags: ['DELETE 1'], decision: { effect: 'approve', rule: 'deletes-need-approval', approval: 'appr-1' } }) },
  { seq: 13, time: at(15), kind: 'disconnect', payload: { status: 'closed', counters: { statements: 5, errors: 2, rows: 4 } } },
];

/** Text without SGR sequences and the reset/cursor sequences TerminalWriter adds. */
function plain(text: string): string {
  // eslint-disable-next-line no-control-regex -- stripping escape sequences is the point
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, '').replace(/\r\n/g, '\n');
}

/** Stands in for terminal-view.tsx in jsdom (vi.mock): the same props, TerminalSync underneath. */
export function FakeTerminalView({ transcript, timeline, position, search }: TerminalViewProps) {
  const [text, setText] = useState('');
  const buffer = useRef('');
  const sync = useRef<TerminalSync | undefined>(undefined);
  sync.current ??= new TerminalSync({
    replace: (value) => {
      buffer.current = value;
    },
    append: (value) => {
      buffer.current += value;
    },
  });
  useEffect(() => {
    sync.current!.show(transcript, timeline, position, search);
    setText(plain(buffer.current));
  }, [transcript, timeline, position, search]);
  return (
    <pre data-testid="terminal" data-shown-event={sync.current.shown}>
      {text}
    </pre>
  );
}

/**
 * A long session: the fixture's statements over and over (16 s apart, approval ids made unique),
 * one connect and one disconnect. Decisions paired with later queries and approvals announced
 * by decisions recur throughout, which is what windowed rendering must get right.
 */
export function repeatedSession(rounds: number): TranscriptEvent[] {
  const middle = EVENTS.slice(1, -1);
  const events: TranscriptEvent[] = [EVENTS[0]!];
  for (let round = 0; round < rounds; round++) {
    for (const event of middle) {
      const payload = JSON.parse(JSON.stringify(event.payload).replaceAll('appr-1', `appr-${round + 1}`)) as unknown;
      events.push({ ...event, seq: events.length + 1, time: event.time + round * 16_000_000, payload });
    }
  }
  const end = EVENTS.at(-1)!;
  events.push({ ...end, seq: events.length + 1, time: end.time + (rounds - 1) * 16_000_000 });
  return events;
}
