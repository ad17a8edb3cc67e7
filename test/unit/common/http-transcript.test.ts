import { describe, expect, it } from 'vitest';
import { transcriptFrames } from '../../../proxy/common/transcript.js';

// HTTP sessions replay as requests and answers: what the replayer and `sluice replay` show.

describe('the transcript of an HTTP session', () => {
  it('shows each request, its decision, the answer with its masked sample, and WebSocket messages', () => {
    let seq = 0;
    const at = (kind: string, payload: unknown) => ({ seq: ++seq, time: 1_000_000 * seq, kind, payload });
    const events = [
      at('connect', { resource: 'billing', identity: { subject: 'ci-job', groups: ['ci'] }, client_address: '127.0.0.1:5000' }),
      at('http_request', { method: 'POST', path: '/refunds', text: 'POST /refunds?x=1', body: { bytes: 30, sample: '{"note":"****@example.com"}' }, decision: { effect: 'approve', rule: 'refunds' } }),
      at('decision', { protocol: 'http', effect: 'approve', rule: 'refunds', text: 'POST /refunds?x=1', approval: 'A1' }),
      at('approval', { action: 'approved', id: 'A1', by: ['alice'] }),
      at('http_response', { status: 201, source: 'upstream', outcome: 'ok', body: { bytes: 2048, sample: '{"id":7,\n"email":"5f2b"}', truncated: true }, masked: { emails: 2 }, duration_ms: 12.5 }),
      at('http_request', { method: 'GET', path: '/admin', text: 'GET /admin', body: { bytes: 0 } }),
      at('http_response', { status: 403, source: 'gateway', outcome: 'error', error: { code: 'denied', message: 'denied by rule no-admin: GET /admin' }, duration_ms: 0.4 }),
      // An allowed request in batched durability: one event holding its response.
      at('http_request', { method: 'PUT', path: '/notes/1', text: 'PUT /notes/1', body: { streamed: true }, decision: { effect: 'allow', rule: 'r' }, response: { status: 200, source: 'upstream', outcome: 'ok', body: { bytes: 2, sample: '{}' }, request_body: { bytes: 5, sample: 'hello' }, duration_ms: 500 } }),
      at('http_request', { method: 'GET', path: '/socket', text: 'WEBSOCKET /socket', websocket: true, body: { bytes: 0 } }),
      at('input', { channel: 'websocket', type: 'text', bytes: 5, sample: 'hello' }),
      at('output', { channel: 'websocket', type: 'close', bytes: 2, code: 1000 }),
      at('http_response', { status: 101, source: 'upstream', outcome: 'ok', websocket: { messages_in: 1, messages_out: 1, ended: 'the client closed the connection' }, duration_ms: 80 }),
      at('disconnect', { status: 'closed', counters: { statements: 3, errors: 1 } }),
    ];
    const text = transcriptFrames({ id: 'S1', resource: 'billing' }, events).map((frame) => `[${frame.kind}] ${frame.text}`).join('');
    expect(text).toBe(
      [
        '[prompt] -- session S1 · resource billing · ci-job (ci) · from 127.0.0.1:5000',
        '[statement] billing> POST /refunds?x=1',
        '-- body (30 bytes):',
        '  {"note":"****@example.com"}',
        '[decision] -- waiting for approval A1 (rule refunds)',
        '[approval] -- approved by alice',
        '[result] HTTP 201 (2.0 KiB)',
        '  {"id":7,',
        '  "email":"5f2b"}',
        '  … (sample as recorded)',
        '-- masked: emails 2',
        'Time: 12.500 ms',
        '[statement] billing> GET /admin',
        '[error] HTTP 403 from Sluice: denied by rule no-admin: GET /admin',
        'Time: 0.400 ms',
        '[statement] billing> PUT /notes/1',
        '-- body streamed (5 bytes):',
        '  hello',
        '[result] HTTP 200 (2 bytes)',
        '  {}',
        'Time: 500.000 ms',
        '[statement] billing> WEBSOCKET /socket',
        '[result] -> text (5 bytes): hello',
        '[result] <- close 1000 (2 bytes)',
        '[result] -- WebSocket ended: 1 messages in, 1 out (the client closed the connection)',
        'Time: 80.000 ms',
        '[end] -- session closed: 3 statements, 1 error',
        '',
      ].join('\n'),
    );
  });
});
