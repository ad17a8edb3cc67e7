import type { ErrorFields } from './backend-writer.js';
import type { BoundValue } from './frontend-decode.js';
import { rowsOfTag } from './backend-decode.js';
import type { ResultField } from './row-description.js';

/** What policy said about a statement the log is told about. */
export interface Verdict {
  readonly effect: 'allow' | 'deny' | 'approve';
  readonly rule: string;
  /** The approval it ran under (held and approved, or a session grant). */
  readonly approval?: string;
  /**
   * Set when the gateway replaced the statement with one that makes the upstream raise 42501:
   * the error the client sees instead of the upstream's.
   */
  readonly denial?: Omit<ErrorFields, 'severity'>;
  /**
   * The statement reads columns a masking rule covers for this caller: the server's errors and
   * notices about it may quote their values, so the relay redacts quoted values in them.
   */
  readonly touchesMasked?: boolean;
}

/**
 * One statement as it ran, shaped as the `query` event the recorder stores (snake_case keys, as
 * in every recorded payload), so it is recorded without another copy.
 */
// A type alias, not an interface: it must fit the recorder's plain-object payload type.
export type StatementRecord = {
  readonly protocol: 'simple' | 'extended';
  readonly text: string;
  /** Bound parameters, shortened for the record (extended protocol only). */
  readonly params?: readonly (string | null)[];
  /** Prepared statement name, when one was used. */
  readonly statement?: string;
  readonly duration_ms: number;
  readonly rows: number;
  /** `aborted`: sent upstream, but the session ended before the server answered. */
  readonly outcome: 'ok' | 'error' | 'aborted';
  readonly tags: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
  /** The policy decision it ran (or was refused) under. */
  readonly decision?: { readonly effect: Verdict['effect']; readonly rule: string; readonly approval?: string };
  /** Cells masked, per masking rule. */
  readonly masked?: Readonly<Record<string, number>>;
  /** The first rows of the result as the client received them (masked), within the configured caps. */
  readonly sample?: ResultSample;
};

export type ResultSample = {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
  /** More rows or bytes came than the sample keeps. */
  readonly truncated: boolean;
};

/** A prepared statement as the server holds it: its text and, once described, its result columns. */
export interface PreparedStatement {
  readonly text: string;
  /** Its RowDescription (formats there are always text); null when it returns no rows (NoData). */
  fields?: readonly ResultField[] | null;
}

/**
 * The result columns DataRows arrive in: the fields of a RowDescription and, when that came from
 * describing a statement, the formats Bind asked for.
 */
export interface ResultColumns {
  readonly fields: readonly ResultField[];
  /** Bind's result-format codes: none (all text), one (for all) or one per column. Absent: the fields' own formats. */
  readonly formats?: readonly number[];
}

/** What the relay's result masker reads and fills for the statement whose rows are arriving. */
export interface ResultTarget {
  /** The columns its rows are in; undefined when the client never had them described. */
  readonly columns: ResultColumns | undefined;
  /** Cells masked so far, per rule. */
  readonly hits: Map<string, number>;
  /** Rows sampled for the record (masked), with the names of the columns they are in, and their size. */
  sample: { readonly columns: readonly string[]; readonly rows: (string | null)[][] } | undefined;
  sampleBytes: number;
  sampleTruncated: boolean;
}

export interface BoundPortal {
  readonly text: string;
  /** The values as bound (not shortened): what an approval's hash covers. */
  readonly values: readonly BoundValue[];
  /** The statement it was bound from (undefined when the server has no such statement). */
  readonly prepared: PreparedStatement | undefined;
  /** Bind's result-format codes. */
  readonly formats: readonly number[];
  /** Set when the portal itself was described (its RowDescription carries the real formats); null for NoData. */
  fields?: readonly ResultField[] | null;
}

interface Execution extends ResultTarget {
  readonly protocol: 'simple' | 'extended';
  readonly text: string;
  readonly params?: readonly (string | null)[];
  readonly statement?: string;
  readonly started: number;
  readonly verdict?: Verdict;
  /** Extended protocol: the portal it runs. */
  readonly portal?: BoundPortal;
  /** When the server finished it (extended statements are reported later, at their Sync). */
  finished: number | undefined;
  rows: number;
  dataRows: number;
  tags: string[];
  error?: { code: string; message: string };
  /** Simple protocol: the current result set's (a Query may hold several statements). */
  columns: ResultColumns | undefined;
}

/**
 * What the server still owes, in the order it will answer. Every message that can fail is here,
 * so an ErrorResponse is always pinned on the message that caused it.
 */
type Pending =
  | { readonly kind: 'query' | 'execute'; readonly execution: Execution }
  | { readonly kind: 'parse'; readonly text: string }
  | { readonly kind: 'bind'; readonly text: string; readonly statement: string; readonly params: readonly (string | null)[] }
  /** A Describe, and what it describes: the RowDescription or NoData answering it is kept there. */
  | { readonly kind: 'describe'; readonly target: PreparedStatement | BoundPortal | undefined }
  | { readonly kind: 'close' | 'sync' }
  /** A message the gateway added (to make the upstream raise a denial): its answer never reaches the client. */
  | { readonly kind: 'injected' };

const MAX_RECORDED_PARAMS = 100;
const MAX_PARAM_CHARS = 1_024;
const MAX_BINARY_PARAM_BYTES = 256;

/**
 * Pairs what the client asked (Query; Parse/Bind/Describe/Execute/Close/Sync, pipelined or not)
 * with what the server answered, in protocol order, and reports each statement once. It follows
 * PostgreSQL's rules: after an error in an extended-protocol message the server ignores
 * everything (Query messages too) up to the next Sync; an extended-protocol statement is reported
 * at its Sync, so that an implicit commit failing there (a deferred constraint) marks it failed,
 * as the same statement sent as a simple Query would be. It only observes; the relay forwards bytes.
 */
export class StatementLog {
  readonly #statements = new Map<string, PreparedStatement>();
  readonly #portals = new Map<string, BoundPortal & { readonly statement: string; readonly params: readonly (string | null)[] }>();
  readonly #pending: Pending[] = [];
  /** Extended-protocol executions answered, reported when their Sync's ReadyForQuery arrives. */
  readonly #unsynced: Execution[] = [];

  constructor(
    private readonly onStatement: (record: StatementRecord) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Statements the server has not finished yet: the client is waiting on them. */
  get inFlight(): boolean {
    return this.#pending.length > 0;
  }

  // --- client -> server ---

  query(text: string, verdict?: Verdict): void {
    this.#pending.push({ kind: 'query', execution: this.#execution('simple', text, undefined, undefined, verdict) });
  }

  /** Messages the gateway sent upstream on its own; their step answers are swallowed (see stepComplete). */
  injected(count: number): void {
    for (let i = 0; i < count; i++) this.#pending.push({ kind: 'injected' });
  }

  parse(statement: string, text: string): void {
    this.#statements.set(statement, { text });
    this.#pending.push({ kind: 'parse', text });
  }

  bind(portal: string, statement: string, values: readonly BoundValue[], formats: readonly number[] = []): void {
    const prepared = this.#statements.get(statement);
    const text = prepared?.text ?? '';
    const params = recordedParams(values);
    this.#portals.set(portal, { text, statement, params, values, prepared, formats });
    this.#pending.push({ kind: 'bind', text, statement, params });
  }

  /** What a portal was bound to, as the server holds it (the statement gate decides on it). */
  portal(name: string): BoundPortal | undefined {
    return this.#portals.get(name);
  }

  describe(target: 'statement' | 'portal', name: string): void {
    this.#pending.push({ kind: 'describe', target: target === 'statement' ? this.#statements.get(name) : this.#portals.get(name) });
  }

  execute(portal: string, verdict?: Verdict): void {
    const bound = this.#portals.get(portal);
    this.#pending.push({ kind: 'execute', execution: this.#execution('extended', bound?.text ?? '', bound?.params, bound?.statement || undefined, verdict, bound) });
  }

  close(target: 'statement' | 'portal', name: string): void {
    (target === 'statement' ? this.#statements : this.#portals).delete(name);
    this.#pending.push({ kind: 'close' });
  }

  sync(): void {
    this.#pending.push({ kind: 'sync' });
  }

  // --- server -> client ---

  /** ParseComplete, BindComplete or CloseComplete. Returns true when it answers a message the gateway injected: do not forward it. */
  stepComplete(): boolean {
    const kind = this.#pending[0]?.kind;
    if (kind === 'parse' || kind === 'bind' || kind === 'close') this.#pending.shift();
    else if (kind === 'injected') {
      this.#pending.shift();
      return true;
    }
    return false;
  }

  /**
   * RowDescription (its fields) or NoData (null): the answer to a Describe, kept with the statement
   * or portal described; or, within a simple Query, the columns of the rows that follow.
   */
  described(fields: readonly ResultField[] | null): void {
    const head = this.#pending[0];
    if (head?.kind === 'describe') {
      if (head.target) head.target.fields = fields;
      this.#pending.shift();
    } else if (head?.kind === 'query' && fields) {
      head.execution.columns = { fields };
    }
  }

  /** A DataRow: counted, and returned with the columns it is in (undefined when it belongs to no statement). */
  dataRow(): ResultTarget | undefined {
    const head = this.#pending[0];
    if (head?.kind !== 'query' && head?.kind !== 'execute') return undefined;
    const execution = head.execution;
    if (execution.dataRows++ === 0 && head.kind === 'execute') execution.columns = portalColumns(execution.portal);
    return execution;
  }

  commandComplete(tag: string): void {
    const head = this.#pending[0];
    if (head?.kind !== 'query' && head?.kind !== 'execute') return;
    const { execution } = head;
    execution.tags.push(tag);
    execution.rows += rowsOfTag(tag) || execution.dataRows;
    execution.dataRows = 0;
    if (head.kind === 'execute') this.#unsynced.push(this.#shiftExecution());
  }

  /** EmptyQueryResponse or PortalSuspended: the execution ends without a tag. */
  completeWithoutTag(): void {
    const head = this.#pending[0];
    if (head?.kind !== 'query' && head?.kind !== 'execute') return;
    head.execution.rows += head.execution.dataRows;
    head.execution.dataRows = 0;
    if (head.kind === 'execute') this.#unsynced.push(this.#shiftExecution());
  }

  /**
   * Whether the statement the next server message is about reads masked columns (its verdict
   * says so): a notice is about the statement running, an error is pinned where error() pins it.
   */
  touchesMasked(): boolean {
    const head = this.#pending[0];
    if (head?.kind === 'query' || head?.kind === 'execute') return head.execution.verdict?.touchesMasked === true;
    // A failed commit at Sync is about what ran in its implicit transaction.
    if (head?.kind === 'sync') return this.#unsynced.some((execution) => execution.verdict?.touchesMasked === true);
    return false;
  }

  /** The statement whose answer the server is sending now, with its bound values: what a result limit names. */
  current(): { readonly text: string; readonly values?: readonly BoundValue[] } | undefined {
    const head = this.#pending[0];
    if (head?.kind !== 'query' && head?.kind !== 'execute') return undefined;
    return { text: head.execution.text, values: head.execution.portal?.values };
  }

  /**
   * An ErrorResponse. Returns the gateway's own error to send instead when it answers a statement
   * the gateway denied (the upstream raised 42501 only to put the session in the right state).
   */
  error(code: string, message: string): Verdict['denial'] {
    const head = this.#pending[0];
    if (!head) return undefined;
    let error = { code, message };
    const denial = (head.kind === 'query' || head.kind === 'execute') && code === head.execution.verdict?.denial?.code ? head.execution.verdict.denial : undefined;
    if (denial) error = { code: denial.code, message: denial.message };
    switch (head.kind) {
      case 'query':
        // A simple Query goes on to its ReadyForQuery; nothing is skipped.
        head.execution.error = error;
        return denial;
      case 'sync':
        // The implicit transaction failed to commit: what ran in it did not take effect.
        for (const execution of this.#unsynced) execution.error ??= error;
        return;
      case 'execute':
        head.execution.error = error;
        this.#unsynced.push(this.#shiftExecution());
        break;
      case 'parse':
      case 'bind': {
        // The statement never ran, but the attempt belongs in the record.
        const failed = this.#execution('extended', head.text, head.kind === 'bind' ? head.params : undefined, head.kind === 'bind' ? head.statement || undefined : undefined);
        failed.error = error;
        this.#unsynced.push(failed);
        break;
      }
      case 'describe':
      case 'close':
      case 'injected':
        break;
    }
    // Extended protocol: the server skips everything up to Sync; what was queued never runs.
    while (this.#pending.length > 0 && this.#pending[0]!.kind !== 'sync') this.#pending.shift();
    return denial;
  }

  readyForQuery(): void {
    for (let head = this.#pending.shift(); head; head = this.#pending.shift()) {
      if (head.kind === 'query') {
        // A simple Query ends the implicit transaction extended messages before it were in.
        this.#reportUnsynced();
        this.#report(head.execution);
        return;
      }
      if (head.kind === 'sync') {
        this.#reportUnsynced();
        return;
      }
    }
  }

  /**
   * The session ended: reports what the server answered but no Sync confirmed, and every
   * statement sent upstream that never got its answer (outcome `aborted`; `error` when its
   * error did arrive).
   */
  abandon(): void {
    this.#reportUnsynced();
    for (const head of this.#pending.splice(0)) {
      // A statement whose error arrived has ended, even if the session closed before the
      // ReadyForQuery that follows it (PostgreSQL flushes the error first; drivers stop there).
      if (head.kind === 'query' || head.kind === 'execute') this.#report(head.execution, head.execution.error ? undefined : 'aborted');
    }
  }

  // ---

  #execution(protocol: 'simple' | 'extended', text: string, params?: readonly (string | null)[], statement?: string, verdict?: Verdict, portal?: BoundPortal): Execution {
    return {
      protocol,
      text,
      params,
      statement,
      verdict,
      portal,
      started: this.now(),
      finished: undefined,
      rows: 0,
      dataRows: 0,
      tags: [],
      columns: undefined,
      hits: new Map(),
      sample: undefined,
      sampleBytes: 0,
      sampleTruncated: false,
    };
  }

  #shiftExecution(): Execution {
    const execution = (this.#pending.shift() as { execution: Execution }).execution;
    execution.finished = this.now();
    return execution;
  }

  #reportUnsynced(): void {
    for (const execution of this.#unsynced) this.#report(execution);
    this.#unsynced.length = 0;
  }

  #report(execution: Execution, outcome?: 'aborted'): void {
    // Built without spreads: this runs once per statement on the hot path.
    const record: { -readonly [K in keyof StatementRecord]: StatementRecord[K] } = {
      protocol: execution.protocol,
      text: execution.text,
      duration_ms: Math.round(((execution.finished ?? this.now()) - execution.started) * 1000) / 1000,
      rows: execution.rows + execution.dataRows,
      outcome: outcome ?? (execution.error ? 'error' : 'ok'),
      tags: execution.tags,
    };
    if (execution.params) record.params = execution.params;
    if (execution.statement) record.statement = execution.statement;
    if (execution.error) record.error = execution.error;
    const verdict = execution.verdict;
    if (verdict) record.decision = verdict.approval ? { effect: verdict.effect, rule: verdict.rule, approval: verdict.approval } : { effect: verdict.effect, rule: verdict.rule };
    if (execution.hits.size > 0) record.masked = Object.fromEntries(execution.hits);
    if (execution.sample) record.sample = { columns: execution.sample.columns, rows: execution.sample.rows, truncated: execution.sampleTruncated };
    this.onStatement(record);
  }
}

/** The columns a portal's rows arrive in: its own description, or its statement's with Bind's formats. */
function portalColumns(portal: BoundPortal | undefined): ResultColumns | undefined {
  if (!portal) return undefined;
  if (portal.fields) return { fields: portal.fields };
  const fields = portal.prepared?.fields;
  return fields ? { fields, formats: portal.formats } : undefined;
}

/** Bound values as the record shows them: at most 100, long text shortened, binary as hex. */
export function recordedParams(values: readonly BoundValue[]): (string | null)[] {
  return values.slice(0, MAX_RECORDED_PARAMS).map(recordedValue);
}

function recordedValue(value: BoundValue): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value.length > MAX_PARAM_CHARS ? `${value.slice(0, MAX_PARAM_CHARS)}…` : value;
  const hex = value.subarray(0, MAX_BINARY_PARAM_BYTES).toString('hex');
  return `\\x${hex}${value.length > MAX_BINARY_PARAM_BYTES ? '…' : ''}`;
}
