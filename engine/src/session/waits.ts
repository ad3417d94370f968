// Things a call races against: a time limit, or a signal. Each can be cancelled, so that a call that
// finished leaves no timer or listener behind (a run makes one call per frame).

export interface Wait<T> {
  promise: Promise<T>;
  cancel(): void;
}

/** Resolves with 'timeout' after `ms`. */
export function timeout(ms: number): Wait<'timeout'> {
  let timer: NodeJS.Timeout;
  const promise = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
  return { promise, cancel: () => clearTimeout(timer) };
}

/** Resolves with `value` once `signal` aborts (at once if it already has: a listener added then never runs). */
export function whenAborted<T>(signal: AbortSignal, value: T): Wait<T> {
  let onAbort = () => {};
  const promise = new Promise<T>((resolve) => {
    if (signal.aborted) resolve(value);
    else signal.addEventListener('abort', (onAbort = () => resolve(value)), { once: true });
  });
  return { promise, cancel: () => signal.removeEventListener('abort', onAbort) };
}
