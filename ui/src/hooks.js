import { useCallback, useEffect, useState } from 'preact/hooks';

/** Loads with `load()` now and whenever `deps` change; `reload()` loads again. */
export function useLoad(load, deps) {
  const [state, setState] = useState({ data: null, error: null, loading: true });
  const run = useCallback(() => {
    setState((s) => ({ ...s, loading: true }));
    return load().then(
      (data) => setState({ data, error: null, loading: false }),
      (error) => setState({ data: null, error, loading: false }),
    );
  }, deps);
  useEffect(() => { run(); }, [run]);
  return { ...state, reload: run };
}
