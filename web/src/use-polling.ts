import { useCallback, useEffect, useRef, useState } from 'react';
import { isAbort } from './api/client.ts';

/** What a polled view shows: the last data that arrived, and the error of the last attempt if it failed. */
export interface Polled<T> {
  readonly data: T | undefined;
  /** The last attempt's failure; cleared by the next success. Data from before stays shown. */
  readonly error: unknown;
  /** When the data last arrived (ms since the epoch). */
  readonly updatedAt: number | undefined;
  /** Loads again now (after a submit or a cancel) instead of waiting for the next tick. */
  readonly refresh: () => void;
}

/** How often views poll (ms): often enough to watch a job start, rarely enough for two cores. */
export const POLL_MS = { detail: 2_000, list: 4_000 } as const;

/**
 * Loads with `load` now and then every `intervalMs` after each load ends (never two
 * at once), skipping ticks while the tab is hidden. A change of `key` (the filter,
 * the job id) starts over with no data; unmounting aborts the request in flight.
 * `load` may change between renders: the latest one runs at each tick.
 */
export function usePolling<T>(key: string, load: (signal: AbortSignal) => Promise<T>, intervalMs: number): Polled<T> {
  const [state, setState] = useState<{ key: string; data: T | undefined; error: unknown; updatedAt: number | undefined }>({ key, data: undefined, error: undefined, updatedAt: undefined });
  const [generation, setGeneration] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (document.visibilityState !== 'hidden') {
        try {
          const data = await loadRef.current(controller.signal);
          setState({ key, data, error: undefined, updatedAt: Date.now() });
        } catch (err) {
          if (controller.signal.aborted || isAbort(err)) return;
          setState((s) => ({ ...s, key, error: err }));
        }
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void tick(), intervalMs);
    };
    void tick();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [key, intervalMs, generation]);

  const refresh = useCallback(() => setGeneration((g) => g + 1), []);
  // Data loaded for another key (the previous job) is not this key's.
  const current = state.key === key ? state : { data: undefined, error: undefined, updatedAt: undefined };
  return { data: current.data, error: current.error, updatedAt: current.updatedAt, refresh };
}
