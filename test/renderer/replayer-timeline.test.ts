import { describe, expect, it } from 'vitest';
import type { TranscriptEvent } from '../../proxy/common/transcript.js';
import { adjacentMarker, clusterMarkers, findMarkers, markerLabel, placeMarkers } from '../../renderer/src/screens/replayer/markers.js';
import { advance, stepSpeed, togglePlaying } from '../../renderer/src/screens/replayer/playback.js';
import { replayFrames } from '../../renderer/src/screens/replayer/replay-frames.js';
import { lineCount, ReplayTranscript } from '../../renderer/src/screens/replayer/replay-transcript.js';
import { adjacentMatch, findMatches } from '../../renderer/src/screens/replayer/session-search.js';
import { TerminalSync } from '../../renderer/src/screens/replayer/terminal-sync.js';
import { styleFrame } from '../../renderer/src/screens/replayer/terminal-style.js';
import { buildTimeline, clockAt, eventAt, positionOfSeq, stepEvent } from '../../renderer/src/screens/replayer/timeline.js';
import { EVENTS, repeatedSession, SESSION } from './replayer-fixtures.js';

// The player's logic without a browser: the timeline, the windowed transcript and what a seek
// writes, markers from real payload shapes, playback and search.

/** Terminal text without styling, as lines. */
const plainLines = (text: string) =>
  text
    // eslint-disable-next-line no-control-regex -- stripping escape sequences is the point
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .split('\r\n')
    .filter((line, index, all) => index < all.length - 1 || line !== '');

function recordingSink() {
  const writes: { kind: 'replace' | 'append'; text: string }[] = [];
  return {
    writes,
    sink: {
      replace: (text: string) => writes.push({ kind: 'replace', text }),
      append: (text: string) => writes.push({ kind: 'append', text }),
    },
  };
}

describe('the timeline', () => {
  it('finds the last event on screen at a position, and where an event shows', () => {
    const timeline = buildTimeline(EVENTS, { skipIdle: true });
    expect(timeline.duration).toBe(10_000);
    expect(EVENTS[eventAt(timeline, 2_999)]!.seq).toBe(2);
    expect(EVENTS[eventAt(timeline, 3_000)]!.seq).toBe(4);
    expect(eventAt(timeline, -1)).toBe(-1);
    expect(positionOfSeq(timeline, 5)).toBe(5_000);
    expect(positionOfSeq(timeline, 99)).toBe(10_000);
    expect(stepEvent(timeline, 3_000, 1)).toBe(5_000);
    expect(stepEvent(timeline, 3_000, -1)).toBe(1_000);
    expect(stepEvent(timeline, 0, -1)).toBe(0);
  });

  it('keeps real pauses when skip idle is off, and tells the wall-clock time of a position', () => {
    const timeline = buildTimeline(EVENTS, { skipIdle: false });
    expect(timeline.duration).toBe(15_000);
    expect(positionOfSeq(timeline, 5)).toBe(10_000);
    expect(clockAt(timeline, 10_000)).toBe(SESSION.startedAt + 10_000);
  });
});

describe('the transcript, rendered a window at a time', () => {
  const events = repeatedSession(300);
  const whole = replayFrames(SESSION, events);
  const transcript = new ReplayTranscript(SESSION, events);

  it('renders any window exactly as the whole session’s transcript has it', () => {
    let seed = 11;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 16_807) % 2_147_483_647;
      const from = seed % events.length;
      const to = Math.min(events.length - 1, from + (seed % 97));
      const expected = whole.filter((frame) => frame.seq >= events[from]!.seq && frame.seq <= events[to]!.seq);
      expect(transcript.framesOf(from, to)).toEqual(expected);
    }
  });

  it('finds the last 1000 lines before a position without rendering the rest', () => {
    const last = 2_000;
    const through = whole.filter((frame) => frame.seq <= events[last]!.seq);
    const expected = through.flatMap((frame) => frame.text.split('\n').slice(0, -1)).slice(-1_000);
    const tail = transcript.tail(last);
    const lines = tail.frames.flatMap((frame) => frame.text.split('\n').slice(0, -1)).slice(tail.skipLines);
    expect(lines).toEqual(expected);
    expect(tail.frames.length).toBeLessThan(through.length / 5);
    expect(transcript.tail(2)).toEqual({ frames: whole.filter((frame) => frame.seq <= 3), skipLines: 0 });
  });
});

describe('what the terminal is sent', () => {
  const events = repeatedSession(2_000);
  const transcript = new ReplayTranscript(SESSION, events);
  const timeline = buildTimeline(events, { skipIdle: true });

  it('a seek anywhere in a long session writes at most the last 1000 lines, ending where the position is', () => {
    const { writes, sink } = recordingSink();
    const sync = new TerminalSync(sink);
    for (const seq of [events.length, 7, 12_001, 1]) {
      sync.show(transcript, timeline, positionOfSeq(timeline, seq));
      const write = writes.at(-1)!;
      expect(write.kind).toBe('replace');
      const lines = plainLines(write.text);
      expect(lines.length).toBeLessThanOrEqual(1_000);
      const frames = transcript.framesOf(0, Math.min(events.length, seq + 20) - 1).filter((frame) => frame.time <= events[eventAt(timeline, positionOfSeq(timeline, seq))]!.time);
      expect(lines.at(-1)).toBe(frames.at(-1)!.text.split('\n').at(-2));
    }
  });

  it('appends while playing forward, and rewrites on a seek back, a jump far ahead or a new search', () => {
    const { writes, sink } = recordingSink();
    const sync = new TerminalSync(sink);
    sync.show(transcript, timeline, 1_000);
    sync.show(transcript, timeline, 3_000);
    sync.show(transcript, timeline, 3_000);
    expect(writes.map((write) => write.kind)).toEqual(['replace', 'append']);
    expect(plainLines(writes[1]!.text)).toEqual(['testdb=> DROP TABLE customers;', '-- denied by rule no-ddl: schema changes go through migrations', 'ERROR:  Sluice denied this statement', '-- SQLSTATE 42501', 'Time: 0.000 ms']);
    sync.show(transcript, timeline, 500);
    sync.show(transcript, timeline, timeline.duration);
    sync.show(transcript, timeline, timeline.duration, 'customers');
    expect(writes.map((write) => write.kind)).toEqual(['replace', 'append', 'replace', 'replace', 'replace']);
    expect(writes.at(-1)!.text).toContain('\x1b[30;103mcustomers\x1b[39;49m');
  });

  it('shows a long statement when it was sent and its result when it ended', () => {
    const slow: TranscriptEvent[] = [EVENTS[0]!, { seq: 2, time: EVENTS[0]!.time + 5_000_000, kind: 'query', payload: { text: 'SELECT pg_sleep(3);', duration_ms: 3_000, rows: 1, outcome: 'ok', tags: ['SELECT 1'] } }];
    const slowTimeline = buildTimeline(slow, { skipIdle: false });
    const slowTranscript = new ReplayTranscript(SESSION, slow);
    const { writes, sink } = recordingSink();
    const sync = new TerminalSync(sink);
    sync.show(slowTranscript, slowTimeline, 1_000);
    sync.show(slowTranscript, slowTimeline, 2_500);
    sync.show(slowTranscript, slowTimeline, 5_000);
    expect(writes.map((write) => [write.kind, plainLines(write.text).at(-1)])).toEqual([
      ['replace', expect.stringMatching(/^-- session /)],
      ['append', 'testdb=> SELECT pg_sleep(3);'],
      ['append', 'Time: 3000.000 ms'],
    ]);
    expect(plainLines(writes.map((write) => write.text).join('')).filter((line) => line.includes('pg_sleep'))).toHaveLength(1);
  });
});

describe('terminal sessions', () => {
  it('write recorded output as the terminal got it, escape sequences and all', () => {
    const exec = { ...SESSION, protocol: 'exec' };
    const events: TranscriptEvent[] = [EVENTS[0]!, { seq: 2, time: EVENTS[0]!.time + 1, kind: 'output', payload: { data: '\x1b[32mok\x1b[0m\r\n$ ' } }];
    const frames = new ReplayTranscript(exec, events).framesOf(1, 1);
    expect(frames).toEqual([expect.objectContaining({ raw: true, text: '\x1b[32mok\x1b[0m\r\n$ ' })]);
    expect(styleFrame(frames[0]!)).toEqual(['\x1b[32mok\x1b[0m\r\n$ ']);
    // A PostgreSQL session's transcript never passes output through raw.
    expect(new ReplayTranscript(SESSION, events).framesOf(1, 1)[0]!.raw).toBeUndefined();
  });
});

describe('terminal styling', () => {
  it('colours what a line says and never lets recorded text carry escape sequences', () => {
    const frames = replayFrames(SESSION, [...EVENTS.slice(0, 4), { seq: 99, time: EVENTS[3]!.time, kind: 'query', payload: { text: 'SELECT \x1b[31mevil', outcome: 'ok', tags: [] } }]);
    const styled = frames.flatMap((frame) => styleFrame(frame));
    expect(styled.find((line) => line.includes('-- denied by rule no-ddl'))?.startsWith('\x1b[1;31m-- denied')).toBe(true);
    expect(styled.find((line) => line.startsWith('\x1b[31mERROR:'))).toBeDefined();
    expect(styled.find((line) => line.includes('evil'))).toContain('SELECT \\x1b[31mevil');
    expect(lineCount('a\nb\n')).toBe(2);
  });
});

describe('markers from recorded payloads', () => {
  it('reads limits, the masking guard and approval outcomes as the gateway writes them', () => {
    const events: TranscriptEvent[] = [
      { seq: 1, time: 1, kind: 'decision', payload: { effect: 'deny', rule: 'masking', reason: 'would copy masked values', trace: [], text: 'INSERT INTO t SELECT email FROM c' } },
      { seq: 2, time: 2, kind: 'limit', payload: { limit: 'rows_per_statement', value: 1000, rule: 'limits', action: 'stopped', rows: 1000, text: 'SELECT * FROM big' } },
      { seq: 3, time: 3, kind: 'limit', payload: { limit: 'rows_per_statement', value: 1000, rule: 'limits', action: 'held', rows: 1000, text: 'SELECT * FROM big', approval: 'a2' } },
      { seq: 4, time: 4, kind: 'approval', payload: { action: 'denied', id: 'a2', by: ['bob'], reason: 'too much' } },
      { seq: 5, time: 5, kind: 'query', payload: { text: 'DELETE FROM t', outcome: 'error', error: { code: '42501', message: 'approval a2 denied by bob: too much' }, decision: { effect: 'approve', rule: 'r', approval: 'a2' } } },
      { seq: 6, time: 6, kind: 'error', payload: { source: 'client', code: '08006', message: 'connection reset' } },
    ];
    expect(findMarkers(events).map((marker) => [marker.seq, marker.kind, markerLabel(marker)])).toEqual([
      [1, 'denial', 'Denied by the masking guard'],
      [2, 'denial', 'Limit rows_per_statement: result stopped'],
      [3, 'approval', 'Limit rows_per_statement: result held for approval'],
      [4, 'approval', 'Approval denied by bob'],
      [6, 'error', 'Error 08006: connection reset'],
    ]);
  });

  it('steps between markers that share a place, and draws thousands as a few hundred', () => {
    const placed = placeMarkers(findMarkers(EVENTS), buildTimeline(EVENTS, { skipIdle: true }));
    const approved = placed.find((marker) => markerLabel(marker) === 'Approved by alice')!;
    expect(markerLabel(adjacentMarker(placed, 9_000, undefined, -1)!)).toBe('Approval requested (rule deletes-need-approval)');
    expect(adjacentMarker(placed, approved.position, approved.seq, 1)).toBeUndefined();
    const many = Array.from({ length: 20_000 }, (_, i) => ({ seq: i, index: i, kind: 'masking' as const, event: EVENTS[4]!, position: i }));
    expect(clusterMarkers(many, 20_000).length).toBeLessThanOrEqual(201);
  });
});

describe('playback and search', () => {
  it('advances by elapsed time × speed, stops at the end and starts over from there', () => {
    const playing = { position: 0, playing: true, speed: 16 };
    expect(advance(playing, 100, 10_000)).toEqual({ position: 1_600, playing: true, speed: 16 });
    const ended = advance(playing, 1_000, 10_000);
    expect(ended).toEqual({ position: 10_000, playing: false, speed: 16 });
    expect(togglePlaying(ended, 10_000)).toEqual({ position: 0, playing: true, speed: 16 });
    expect([stepSpeed(16, 1), stepSpeed(1, -1), stepSpeed(0.5, -1), stepSpeed(3, 1)]).toEqual([16, 0.5, 0.5, 8]);
  });

  it('finds a text case-insensitively, by event, and wraps around from the last match', () => {
    const transcript = new ReplayTranscript(SESSION, EVENTS);
    const matches = findMatches(transcript, 'customers');
    expect(matches.map((index) => EVENTS[index]!.seq)).toEqual([3, 5, 8]);
    expect(adjacentMatch(matches, matches.at(-1)!, 1)).toBe(matches[0]);
    expect(adjacentMatch(matches, matches[0]!, -1)).toBe(matches.at(-1));
    expect(findMatches(transcript, '')).toEqual([]);
  });
});
