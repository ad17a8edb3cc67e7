import { useCallback, useEffect, useRef, useState } from 'react';
import type { ApiError, ApiInput, ApiMethodName, ApiOutput } from '../../../proxy/api/api-contract.js';
import type { EngineClient } from '../engine-client.js';

export type CallState<T> =
  | { readonly status: 'loading'; readonly value?: T }
  | { readonly status: 'ok'; readonly value: T }
  | { readonly status: 'error'; readonly error: ApiError; readonly value?: T };

/**
 * Calls an API method when the input changes (compared as JSON) and on `reload()`. A stale
 * answer (the input changed meanwhile) is dropped; the last value stays shown while reloading,
 * so lists do not flash empty.
 */
export function useCall<N extends ApiMethodName>(client: EngineClient, method: N, input: ApiInput<N> | undefined): CallState<ApiOutput<N>> & { reload(): void } {
  const [state, setState] = useState<CallState<ApiOutput<N>>>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  const key = input === undefined ? undefined : JSON.stringify(input);
  const latest = useRef(0);
  useEffect(() => {
    if (key === undefined) return;
    const ticket = ++latest.current;
    setState((previous) => ({ status: 'loading', ...(previous.value !== undefined && { value: previous.value }) }));
    void client.call(method, JSON.parse(key) as ApiInput<N>).then((result) => {
      if (ticket !== latest.current) return;
      setState((previous) =>
        result.ok ? { status: 'ok', value: result.value } : { status: 'error', error: result.error, ...(previous.value !== undefined && { value: previous.value }) },
      );
    });
  }, [client, method, key, generation]);
  const reload = useCallback(() => setGeneration((n) => n + 1), []);
  return { ...state, reload };
}
