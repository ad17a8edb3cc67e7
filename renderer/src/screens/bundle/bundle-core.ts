import type { ChainedEvent } from '../../../../proxy/common/audit-chain-types.js';
import { BundleFormatError, parseBundle, verifyBundle, type BundleManifest, type BundlePart, type BundleProblem, type BundleSession } from '../../../../proxy/common/bundle-verify.js';
import type { BundleSessionRecord } from '../../../../proxy/common/bundle-format.js';
import type { Ed25519PublicJwk } from '../../../../proxy/common/checkpoint-verify.js';

// Opening a bundle: verify it (proxy/common/bundle-verify.ts, the same code as `sluice verify`),
// and, when verification fails, still read it unverified so an auditor can look at what it
// claims, behind a warning. Runs in a Web Worker (bundle-worker.ts) so tens of megabytes never
// freeze the page; the in-process fallback (bundle-opener.ts) runs the very same class. The
// parsed sessions stay here: the page asks for one session's events at a time.

/** What the page needs to show about the verification, without the bulk of the bundle. */
export type Verification =
  | {
      readonly ok: true;
      readonly kid: string;
      /** The key the ledger's signatures verified with (another gateway's in a shared store). */
      readonly ledgerKid: string;
      /** False: checked with the key the bundle names itself (consistency, not origin). */
      readonly keyTrusted: boolean;
      readonly ledgerHead: { readonly n: number; readonly hash: string };
      readonly counts: BundleManifest['counts'];
      readonly checkpoints: number;
    }
  | { readonly ok: false; readonly problem: BundleProblem };

/** A session as the list shows it: its record and how many events follow it. */
export interface SessionSummary {
  readonly record: BundleSessionRecord;
  readonly events: number;
}

export interface OpenedBundle {
  readonly verification: Verification;
  /** The manifest: signed when verification passed; as written (unverified) otherwise. */
  readonly manifest?: BundleManifest;
  /** The verified sessions, or on failure the sessions as written (empty when unreadable). */
  readonly sessions: readonly SessionSummary[];
  /** Set when a bundle that failed verification cannot even be read: why nothing is shown. */
  readonly unreadable?: string;
}

/** How the phases of opening are announced (the page shows them while it waits). */
export type OpenPhase = 'reading' | 'verifying' | 'reading-unverified';

/** Bundles this large do not fit in a browser string; `sluice verify` checks them from disk. */
export const MAX_BUNDLE_BYTES = 400 * 1024 * 1024;

export class BundleHolder {
  #text = '';
  #sessions = new Map<string, readonly ChainedEvent[]>();

  /** Reads `file` (or takes `text`), verifies it and keeps its sessions for `events()`. */
  async open(source: Blob | string, key: Ed25519PublicJwk | undefined, phase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    if (typeof source !== 'string' && source.size > MAX_BUNDLE_BYTES) {
      throw new Error(`the file is ${Math.round(source.size / 1024 / 1024)} MB, more than a browser can check (${MAX_BUNDLE_BYTES / 1024 / 1024} MB); run 'sluice verify FILE.sluice' instead`);
    }
    phase('reading');
    this.#text = typeof source === 'string' ? source : await source.text();
    this.#sessions.clear();
    return this.verify(key, phase);
  }

  /** Verifies the text already read again, e.g. with a trusted key given after the first look. */
  async verify(key: Ed25519PublicJwk | undefined, phase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    phase('verifying');
    const report = await verifyBundle(this.#text, key);
    if (report.ok) {
      this.#keep(report.sessions);
      return {
        verification: {
          ok: true,
          kid: report.manifest.kid,
          ledgerKid: report.ledgerKid,
          keyTrusted: report.keyTrusted,
          ledgerHead: report.manifest.ledger_head,
          counts: report.manifest.counts,
          checkpoints: report.checkpoints.length,
        },
        manifest: report.manifest,
        sessions: summaries(report.sessions),
      };
    }
    // Failed: read what the bundle claims anyway, to show behind a warning (never as verified).
    phase('reading-unverified');
    try {
      const parsed = parseBundle(this.#text);
      this.#keep(parsed.sessions);
      return { verification: report, manifest: parsed.manifest, sessions: summaries(parsed.sessions) };
    } catch (error) {
      this.#sessions.clear();
      if (error instanceof BundleFormatError) return { verification: report, sessions: [], unreadable: error.message };
      throw error;
    }
  }

  /** One session's events, in bundle order. */
  events(sessionId: string): readonly ChainedEvent[] {
    const events = this.#sessions.get(sessionId);
    if (!events) throw new Error(`session ${sessionId} is not in the open bundle`);
    return events;
  }

  #keep(sessions: readonly BundleSession[]): void {
    this.#sessions = new Map(sessions.map((session) => [session.record.id, session.events]));
  }
}

function summaries(sessions: readonly BundleSession[]): SessionSummary[] {
  return sessions.map((session) => ({ record: session.record, events: session.events.length }));
}

/** The part of a bundle a problem is in, in the words the banner uses. */
export const PART_WORDS: Readonly<Record<BundlePart, string>> = {
  manifest: 'the signed manifest',
  body: 'the bundle body',
  session: "a session's event chain",
  ledger: 'the ledger',
  checkpoint: 'a signed checkpoint',
};
