import { useEffect, useRef, useState } from 'react';
import type { ApiError, ApiInput, MaskingPreviewRequest, PreviewResult } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';
import { fieldErrorsOf, type FieldError } from './field-errors.js';
import type { RawRule } from './rule-draft.js';

// The draft rules run through `masking.preview` a moment after the last keystroke: over the
// sample rows, or over the first rows of a live query. Answers to older drafts are dropped, and
// the last result stays on screen while the next one loads, so the table does not flash.

export type PreviewSource =
  | { readonly kind: 'sample'; readonly columns: readonly { readonly name: string; readonly sources?: readonly string[] }[]; readonly rows: readonly (readonly string[])[] }
  | { readonly kind: 'query'; readonly resource: string; readonly sql: string };

export interface PreviewState {
  readonly status: 'idle' | 'loading' | 'ok' | 'error';
  readonly result?: PreviewResult;
  /** Problems in the request that name no rule (a query policy refuses, a resource that does not exist). */
  readonly error?: ApiError;
  /** Problems the server found in the draft rules, by rule and field. */
  readonly ruleErrors: readonly FieldError[];
  /** What the result is for, so a stale table can say so. */
  readonly source?: PreviewSource['kind'];
}

export const PREVIEW_DELAY_MS = 300;

export function usePreview(client: EngineClient, rules: readonly RawRule[], groups: readonly string[], source: PreviewSource | undefined): PreviewState {
  const [state, setState] = useState<PreviewState>({ status: 'idle', ruleErrors: [] });
  const latest = useRef(0);
  const request: MaskingPreviewRequest | undefined = source && {
    rules,
    ...(groups.length > 0 && { groups }),
    ...(source.kind === 'sample' ? { sample: { columns: source.columns, rows: source.rows } } : { query: { resource: source.resource, sql: source.sql, limit: 20 } }),
  };
  const key = request && JSON.stringify(request);

  useEffect(() => {
    if (key === undefined || source === undefined) return;
    const ticket = ++latest.current;
    setState((previous) => ({ ...previous, status: 'loading' }));
    const timer = setTimeout(() => {
      void client.call('masking.preview', JSON.parse(key) as ApiInput<'masking.preview'>).then((answer) => {
        if (ticket !== latest.current) return;
        if (answer.ok) {
          setState({ status: 'ok', result: answer.value, ruleErrors: [], source: source.kind });
          return;
        }
        const ruleErrors = answer.error.code === 'invalid_input' ? fieldErrorsOf(answer.error.message) : [];
        setState((previous) => ({
          status: 'error',
          ...(previous.result && { result: previous.result }),
          ...(ruleErrors.length === 0 && { error: answer.error }),
          ruleErrors,
          ...(previous.source && { source: previous.source }),
        }));
      });
    }, PREVIEW_DELAY_MS);
    return () => clearTimeout(timer);
    // `source` is in `key` (its identity changes on every render, its content does not).
  }, [client, key]);

  return state;
}
