import type { BoundValue } from './frontend-decode.js';
import { rowsOfTag } from './backend-decode.js';

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
  readonly outcome: 'ok' | 'error';
  readonly tags: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
};

interface Execution {
  readonly protocol: 'simple' | 'extended';
  readonly text: string;
  readonly params?: readonly (string | null)[];
  readonly statement?: string;
  readonly started: number;
  rows: number;
  dataRows: number;
  tags: string[];
  error?: { code: string; message: string };
}

/**
 * What the server still owes, in the order it will answer: a simple Query (completions, then
 * ReadyForQuery), an Execute (one completion), or a Sync (ReadyForQuery).
 */
type Pending = { readonly kind: 'query' | 'execute'; readonly execution: Execution } | { readonly kind: 'sync' };

const MAX_RECORDED_PARAMS = 100;
const MAX_PARAM_CHARS = 1_024;
const MAX_BINARY_PARAM_BYTES = 256;

/**
 * Pairs what the client asked (Query; Parse/Bind/Execute/Sync, pipelined or not) with what the
 * server answered (CommandComplete, DataRow, ErrorResponse, ReadyForQuery), in protocol order,
 * and reports each statement once it completes. It follows PostgreSQL's rules: after an error in
 * an extended-protocol message the server ignores everything (Query messages too) up to the next
 * Sync. It only observes; the relay forwards bytes.
 */
export class StatementLog {
  readonly #statements = new Map<string, string>();
  readonly #portals = new Map<string, { text: string; statement: string; params: readonly (string | null)[] }>();
  readonly #pending: Pending[] = [];

  constructor(
    private readonly onStatement: (record: StatementRecord) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Statements the server has not finished yet: the client is waiting on them. */
  get inFlight(): boolean {
    return this.#pending.length > 0;
  }

  // --- client -> server ---

  query(text: string): void {
    this.#pending.push({ kind: 'query', execution: this.#execution('simple', text) });
  }

  parse(statement: string, text: string): void {
    this.#statements.set(statement, text);
  }

  bind(portal: string, statement: string, values: readonly BoundValue[]): void {
    const params = values.slice(0, MAX_RECORDED_PARAMS).map(recordedValue);
    this.#portals.set(portal, { text: this.#statements.get(statement) ?? '', statement, params });
  }

  execute(portal: string): void {
    const bound = this.#portals.get(portal);
    this.#pending.push({ kind: 'execute', execution: this.#execution('extended', bound?.text ?? '', bound?.params, bound?.statement || undefined) });
  }

  close(target: 'statement' | 'portal', name: string): void {
    (target === 'statement' ? this.#statements : this.#portals).delete(name);
  }

  sync(): void {
    this.#pending.push({ kind: 'sync' });
  }

  // --- server -> client ---

  dataRow(): void {
    const head = this.#pending[0];
    if (head && head.kind !== 'sync') head.execution.dataRows++;
  }

  commandComplete(tag: string): void {
    const head = this.#pending[0];
    if (!head || head.kind === 'sync') return;
    const { execution } = head;
    execution.tags.push(tag);
    execution.rows += rowsOfTag(tag) || execution.dataRows;
    execution.dataRows = 0;
    if (head.kind === 'execute') this.#finishHead();
  }

  /** EmptyQueryResponse or PortalSuspended: the execution ends without a tag. */
  completeWithoutTag(): void {
    const head = this.#pending[0];
    if (!head || head.kind === 'sync') return;
    head.execution.rows += head.execution.dataRows;
    head.execution.dataRows = 0;
    if (head.kind === 'execute') this.#finishHead();
  }

  error(code: string, message: string): void {
    const head = this.#pending[0];
    if (!head || head.kind === 'sync') return;
    head.execution.error = { code, message };
    if (head.kind === 'query') return;
    this.#finishHead();
    // Extended protocol: the server skips everything up to Sync; what was queued never runs.
    while (this.#pending.length > 0 && this.#pending[0]!.kind !== 'sync') this.#pending.shift();
  }

  readyForQuery(): void {
    // Anything still ahead of the Query or Sync this answers got no response of its own.
    for (let head = this.#pending.shift(); head; head = this.#pending.shift()) {
      if (head.kind === 'sync') return;
      if (head.kind === 'query') {
        this.#report(head.execution);
        return;
      }
    }
  }

  // ---

  #execution(protocol: 'simple' | 'extended', text: string, params?: readonly (string | null)[], statement?: string): Execution {
    return { protocol, text, params, statement, started: this.now(), rows: 0, dataRows: 0, tags: [] };
  }

  #finishHead(): void {
    const head = this.#pending.shift();
    if (head && head.kind !== 'sync') this.#report(head.execution);
  }

  #report(execution: Execution): void {
    // Built without spreads: this runs once per statement on the hot path.
    const record: { -readonly [K in keyof StatementRecord]: StatementRecord[K] } = {
      protocol: execution.protocol,
      text: execution.text,
      duration_ms: Math.round((this.now() - execution.started) * 1000) / 1000,
      rows: execution.rows + execution.dataRows,
      outcome: execution.error ? 'error' : 'ok',
      tags: execution.tags,
    };
    if (execution.params) record.params = execution.params;
    if (execution.statement) record.statement = execution.statement;
    if (execution.error) record.error = execution.error;
    this.onStatement(record);
  }
}

function recordedValue(value: BoundValue): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value.length > MAX_PARAM_CHARS ? `${value.slice(0, MAX_PARAM_CHARS)}…` : value;
  const hex = value.subarray(0, MAX_BINARY_PARAM_BYTES).toString('hex');
  return `\\x${hex}${value.length > MAX_BINARY_PARAM_BYTES ? '…' : ''}`;
}
