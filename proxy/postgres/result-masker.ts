import { builtinShape } from '../masking/builtin-types.js';
import type { CatalogCache } from '../masking/catalog-types.js';
import type { MaskingProfile } from '../masking/masking-rules.js';
import type { CellAction, ValueShape } from '../masking/masking-types.js';
import { CopyOutMasker } from './copy-out-masker.js';
import { dataRowCells, maskDataRow } from './data-row.js';
import { MaskingFailure } from './masking-failure.js';
import type { Frame } from './message-reader.js';
import { resultFormats, type ResultField } from './row-description.js';
import { maskNotification, maskParameterStatus, maskServerMessage, type MaskedServerMessage } from './server-message-masker.js';
import type { ResultColumns, ResultTarget } from './statement-log.js';

export { MaskingFailure } from './masking-failure.js';

/** How much of each result the audit record keeps (audit.result_sample). */
export interface SampleLimits {
  readonly rows: number;
  readonly bytes: number;
}

/** What masking does with one result column, before the client's format is known. */
interface ColumnPlan {
  readonly shape: ValueShape;
  readonly column: CellAction['column'];
  readonly content: CellAction['content'];
}

const MAX_SAMPLE_CELL = 200;
const UNKNOWN_COLUMNS =
  'Sluice cannot mask rows whose columns were never described to the client (no RowDescription for this statement or portal); describe the statement or portal before executing it';

/**
 * Masks one session's results. A RowDescription is resolved once: each column's source (table
 * OID and attribute number, through the upstream catalog) picks its column rule, its type picks
 * how content detectors reach its text. DataRows are then masked synchronously; rows with nothing
 * to mask go out as their original bytes. It also keeps the record's sample of each result.
 * The other ways a value reaches the client (errors, notices, notifications, COPY ... TO rows)
 * are masked here too, and only when `active`: a session no rule applies to pays nothing.
 */
export class ResultMasker {
  /** Some masking rule applies to this session's caller. */
  readonly active: boolean;
  readonly #plans = new WeakMap<readonly ResultField[], readonly (ColumnPlan | undefined)[]>();
  readonly #actions = new WeakMap<ResultColumns, readonly (CellAction | undefined)[] | null>();
  readonly #copy: CopyOutMasker;
  /** Hits in COPY rows that belong to no statement (none is pending): counted nowhere. */
  readonly #strayHits = new Map<string, number>();

  constructor(
    private readonly profile: MaskingProfile,
    private readonly catalog: CatalogCache,
    private readonly limits: SampleLimits,
    private readonly resource: string,
    /** The session's server parameters: client_encoding says how result text is encoded. */
    private readonly parameters: ReadonlyMap<string, string>,
  ) {
    this.active = !profile.empty;
    this.#copy = new CopyOutMasker(profile.content);
  }

  /** A RowDescription: its plan is made now, or after the catalog is read (the relay waits for the promise). */
  describe(fields: readonly ResultField[]): Promise<void> | undefined {
    if (this.profile.empty) return undefined;
    this.#requireUtf8('results');
    if (this.#plan(fields)) return undefined;
    const relations = new Set<number>();
    const types = new Set<number>();
    for (const field of fields) {
      if (this.profile.hasColumnRules && field.tableOid !== 0 && !this.catalog.origin(field.tableOid, field.attnum)) relations.add(field.tableOid);
      if (!this.catalog.shape(field.typeOid)) types.add(field.typeOid);
    }
    return this.catalog.load([...relations], [...types]).then(
      () => {
        if (!this.#plan(fields)) throw new MaskingFailure(`the catalog of resource "${this.resource}" did not describe the result's columns; Sluice refuses rows it cannot mask`);
      },
      (error: unknown) => {
        throw new MaskingFailure(`${(error as Error).message}; Sluice refuses rows it cannot mask`);
      },
    );
  }

  /** A DataRow of `target`: the masked row to send instead, or undefined to forward it unchanged. */
  row(frame: Frame, target: ResultTarget): Buffer | undefined {
    let masked: Buffer | undefined;
    if (!this.profile.empty) {
      const actions = this.#actionsFor(target.columns);
      if (actions) masked = maskDataRow(frame, actions, target.hits);
    }
    if (this.limits.rows > 0 && !target.sampleTruncated && target.columns) {
      this.#sample(masked ? { code: frame.code, buffer: masked, start: 0, end: masked.length } : frame, target, target.columns);
    }
    return masked;
  }

  /**
   * An ErrorResponse or NoticeResponse (only when `active`): masked, with the SQLSTATE and message
   * the statement's record gets. `touchesMasked`: the statement it is about reads masked columns.
   */
  serverMessage(frame: Frame, touchesMasked: boolean): MaskedServerMessage {
    return maskServerMessage(frame, this.profile.content, touchesMasked);
  }

  /** A NotificationResponse: the masked message to send instead, or undefined to forward it unchanged. */
  notification(frame: Frame): Buffer | undefined {
    return this.active ? maskNotification(frame, this.profile.content) : undefined;
  }

  /** A ParameterStatus: the masked message to send instead (the gateway keeps the real value), or undefined. */
  parameterStatus(frame: Frame): Buffer | undefined {
    return this.active ? maskParameterStatus(frame, this.profile.content) : undefined;
  }

  /** CopyOutResponse or CopyBothResponse: a COPY's rows follow. Throws MaskingFailure for output that cannot be masked. */
  copyOut(frame: Frame): void {
    if (!this.active) return;
    this.#requireUtf8('COPY output');
    this.#copy.start(frame);
  }

  /** A CopyData row of `target` (only when `active`): the masked row to send instead, or undefined to forward it unchanged. */
  copyData(frame: Frame, target: ResultTarget | undefined): Buffer | undefined {
    const hits = target?.hits ?? this.#strayHits;
    try {
      return this.#copy.data(frame, hits);
    } finally {
      if (!target) hits.clear();
    }
  }

  /** CopyDone, or an ErrorResponse that may have cut a COPY short. */
  copyEnd(): void {
    this.#copy.end();
  }

  /** Masking reads and rewrites text as UTF-8; in another encoding it could miss or corrupt values. */
  #requireUtf8(what: string): void {
    const encoding = this.parameters.get('client_encoding')?.toUpperCase();
    if (encoding !== undefined && encoding !== 'UTF8' && encoding !== 'SQL_ASCII') {
      throw new MaskingFailure(`Sluice masks ${what} only in client_encoding UTF8; this session uses ${encoding} (set client_encoding to UTF8)`, '22021');
    }
  }

  /** Builds and keeps the plan of `fields` when the catalog already knows everything it needs. */
  #plan(fields: readonly ResultField[]): boolean {
    const { profile, catalog } = this;
    const plan: (ColumnPlan | undefined)[] = [];
    for (const field of fields) {
      const shape = catalog.shape(field.typeOid);
      if (!shape) return false;
      let column: CellAction['column'];
      if (profile.hasColumnRules && field.tableOid !== 0) {
        const origin = catalog.origin(field.tableOid, field.attnum);
        if (!origin) return false;
        column = profile.columnAction(origin);
      }
      const content = !profile.content.empty && shape.kind !== 'other' ? profile.content : undefined;
      plan.push(column || content ? { shape, column, content } : undefined);
    }
    this.#plans.set(fields, plan);
    return true;
  }

  /** Per-column actions for rows in `columns`: null when no column needs masking. */
  #actionsFor(columns: ResultColumns | undefined): readonly (CellAction | undefined)[] | null {
    if (!columns) throw new MaskingFailure(UNKNOWN_COLUMNS, '08P01');
    let actions = this.#actions.get(columns);
    if (actions !== undefined) return actions;
    const plan = this.#plans.get(columns.fields);
    if (!plan) throw new MaskingFailure(`the result's columns were not resolved before its rows arrived; Sluice refuses rows it cannot mask`);
    const formats = columnFormats(columns);
    actions = plan.some((column) => column !== undefined)
      ? plan.map((column, index) => column && { shape: column.shape, format: formats[index]!, column: column.column, content: column.content })
      : null;
    this.#actions.set(columns, actions);
    return actions;
  }

  #sample(frame: Frame, target: ResultTarget, columns: ResultColumns): void {
    const cells = dataRowCells(frame);
    const formats = columnFormats(columns);
    const row: (string | null)[] = [];
    let bytes = 0;
    cells.forEach((cell, index) => {
      const field = columns.fields[index];
      const text = cell === null ? null : sampleText(cell, formats[index] ?? 0, field ? (this.catalog.shape(field.typeOid) ?? builtinShape(field.typeOid)) : undefined);
      bytes += text?.length ?? 4;
      row.push(text);
    });
    target.sample ??= { columns: columns.fields.map((field) => field.name), rows: [] };
    if (target.sample.rows.length >= this.limits.rows || target.sampleBytes + bytes > this.limits.bytes) {
      target.sampleTruncated = true;
      return;
    }
    target.sample.rows.push(row);
    target.sampleBytes += bytes;
  }
}

/** The format of each column: the fields' own, or Bind's codes when the fields came from describing a statement. */
function columnFormats(columns: ResultColumns): readonly (0 | 1)[] {
  return columns.formats ? resultFormats(columns.fields, columns.formats) : columns.fields.map((field) => field.format);
}

/** A cell as the record shows it: text as text (binary text-like values too), other binary values as hex; cut at 200 characters. */
function sampleText(cell: Buffer, format: 0 | 1, shape: ValueShape | undefined): string {
  let text: string;
  if (format === 0 || shape?.kind === 'text' || shape?.kind === 'json') text = cell.toString('utf8', 0, Math.min(cell.length, MAX_SAMPLE_CELL * 4));
  else if (shape?.kind === 'jsonb') text = cell.toString('utf8', 1, Math.min(cell.length, MAX_SAMPLE_CELL * 4));
  else text = `\\x${cell.toString('hex', 0, Math.min(cell.length, MAX_SAMPLE_CELL / 2))}`;
  return text.length > MAX_SAMPLE_CELL ? `${text.slice(0, MAX_SAMPLE_CELL)}…` : text;
}
