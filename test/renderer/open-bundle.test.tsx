// @vitest-environment jsdom
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openAuditStore } from '../../proxy/audit/audit-store.js';
import { exportBundle } from '../../proxy/audit/bundle-export.js';
import { loadBundleSigner } from '../../proxy/audit/bundle-signer.js';
import { loadOrCreateSigningKey } from '../../proxy/audit/signing-key.js';
import { parseBundle } from '../../proxy/common/bundle-format.js';
import { publicKeyLine } from '../../proxy/common/checkpoint-verify.js';
import type { ReplayerProps } from '../../renderer/src/screens/replayer/replayer.js';
import { BundleScreen } from '../../renderer/src/screens/bundle/bundle-screen.js';
import { sessionStart } from '../unit/audit/audit-fixtures.js';

// Open bundle with real bundles written by the real exporter (a SQLite store and the gateway's
// signing key in a temporary directory), verified by the real proxy/common code on the page's
// thread (jsdom has no Worker). The replayer is someone else's component: a stand-in shows what
// it was handed (the session, how many events, and the banner).

// jsdom swaps in its own realm's Uint8Array, while TextEncoder, Buffer and WebCrypto still make
// Node's: jose (rightly) refuses those as not Uint8Array. A browser has one realm, so the page's
// code is given Node's, consistent with everything else it uses here.
// jsdom's Blob also lacks text() (every browser the console supports has it): read it as a browser
// would, through FileReader.
vi.hoisted(() => {
  globalThis.Uint8Array = Object.getPrototypeOf(Buffer.prototype).constructor as Uint8ArrayConstructor;
  if (typeof Blob.prototype.text !== 'function') {
    Blob.prototype.text = function text(this: Blob): Promise<string> {
      return new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result));
        reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
        reader.readAsText(this);
      });
    };
  }
});

vi.mock('../../renderer/src/screens/replayer/replayer.js', () => ({
  Replayer: ({ session, events, banner }: ReplayerProps) => (
    <div data-testid="replayer">
      {banner}
      <p>
        replaying {session.id} by {session.identity.subject}: {events.length} events, first {events[0]?.kind}
      </p>
    </div>
  ),
}));

let dir: string;
let bundle: string;
let keyLine: string;
let sessionIds: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-open-bundle-'));
  const key = await loadOrCreateSigningKey(dir);
  keyLine = publicKeyLine(key.publicJwk);
  const store = await openAuditStore({ dataDir: dir, durability: 'strict' });
  sessionIds = [];
  for (const subject of ['ci-job', 'dave']) {
    const recording = store.beginSession(sessionStart({ resource: 'prod-db', identity: { subject, issuer: 'sluice:token', method: 'token', groups: ['ci'] } }));
    sessionIds.push(recording.id);
    await recording.event('connect', { resource: 'prod-db', user: 'app' });
    await recording.event('query', { protocol: 'simple', text: `SELECT 'hello from ${subject}'`, duration_ms: 0.2, rows: 1, outcome: 'ok', tags: ['SELECT 1'] });
    await recording.end('closed', { statements: 1, errors: 0, rows: 1 });
  }
  bundle = await exportBundle(store, await loadBundleSigner(dir), {});
  await store.close();
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(cleanup);

async function open(text: string, name = 'audit.sluice') {
  const user = userEvent.setup();
  const input = screen.getByLabelText('Choose a .sluice file…');
  await user.upload(input, new File([text], name));
  await screen.findByTestId('verification', {}, { timeout: 5_000 });
  return user;
}

describe('open bundle', () => {
  it('verifies a bundle in the page, says the key is not a trusted one, and replays the chosen session', async () => {
    render(<BundleScreen />);
    const user = await open(bundle);
    const verification = screen.getByTestId('verification');
    expect(within(verification).getByRole('heading').textContent).toBe('Verified');
    const written = parseBundle(bundle).sessions;
    const events = written.reduce((sum, session) => sum + session.events.length, 0);
    expect(screen.getByTestId('verification-counts').textContent).toBe(`2 sessions, ${events} events, 4 ledger entries`);
    expect(verification.textContent).toContain('not checked against a key you trust');

    expect(screen.getAllByTestId('bundle-session')).toHaveLength(2);
    await user.click(screen.getByRole('button', { name: `Replay session ${sessionIds[1]}` }));
    const replayer = await screen.findByTestId('replayer');
    const dave = written[1]!;
    expect(replayer.textContent).toContain(`replaying ${sessionIds[1]} by dave: ${dave.events.length} events, first ${dave.events[0]!.kind}`);
    expect(within(replayer).getByTestId('replay-banner').textContent).toContain('Verified bundle');
  });

  it('checks the origin with a trusted key, and refuses a key of another gateway', async () => {
    render(<BundleScreen />);
    const user = await open(bundle);
    const keyField = screen.getByLabelText(/^Trusted public key/);

    await user.type(keyField, 'not a key');
    await user.click(screen.getByRole('button', { name: 'Verify with this key' }));
    expect((await screen.findByRole('alert')).textContent).toContain('not a Sluice public key');

    await user.clear(keyField);
    await user.type(keyField, keyLine);
    await user.click(screen.getByRole('button', { name: 'Verify with this key' }));
    await waitFor(() => expect(screen.getByTestId('verification').textContent).toContain('the trusted key you gave'));
    expect((screen.getByLabelText(/^Trusted public key/) as HTMLInputElement).value).toBe(keyLine);

    const otherGateway = await mkdtemp(join(tmpdir(), 'sluice-other-key-'));
    try {
      const other = publicKeyLine((await loadOrCreateSigningKey(otherGateway)).publicJwk);
      await user.clear(screen.getByLabelText(/^Trusted public key/));
      await user.type(screen.getByLabelText(/^Trusted public key/), other);
      await user.click(screen.getByRole('button', { name: 'Verify with this key' }));
      await waitFor(() => expect(within(screen.getByTestId('verification')).getByRole('heading').textContent).toBe('Verification FAILED'));
      expect(screen.getByTestId('verification-problem').textContent).toContain('does not verify with the given key');
    } finally {
      await rm(otherGateway, { recursive: true, force: true });
    }
  });

  it('shows a tampered bundle as FAILED and its content only on request, under a red banner', async () => {
    render(<BundleScreen />);
    const tampered = bundle.replace("hello from dave", "hello from eve!");
    expect(tampered).not.toBe(bundle);
    const user = await open(tampered, 'tampered.sluice');
    expect(within(screen.getByTestId('verification')).getByRole('heading').textContent).toBe('Verification FAILED');
    expect(screen.getByTestId('verification-problem').textContent).toContain('changed after it was signed');
    expect(screen.queryAllByTestId('bundle-session')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: /^Show unverified content \(2 sessions\)/ }));
    expect(screen.getAllByTestId('bundle-session')).toHaveLength(2);
    await user.click(screen.getByRole('button', { name: `Replay session ${sessionIds[1]}` }));
    const replayer = await screen.findByTestId('replayer');
    const banner = within(replayer).getByTestId('replay-banner');
    expect(banner.textContent).toContain('UNVERIFIED CONTENT');
    expect(banner.getAttribute('role')).toBe('alert');
  });

  it('says a file that is no bundle at all cannot be read, with nothing to show', async () => {
    render(<BundleScreen />);
    await open('{"hello": "world"}\n', 'notes.sluice');
    expect(within(screen.getByTestId('verification')).getByRole('heading').textContent).toBe('Verification FAILED');
    expect(screen.getByText(/There is nothing to show/)).toBeTruthy();
    expect(screen.queryByRole('button', { name: /Show unverified content/ })).toBeNull();
  });
});
