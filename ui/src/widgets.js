import { html } from 'htm/preact';
import { useState } from 'preact/hooks';

export const ErrorNote = ({ error }) => error ? html`<p class="error" role="alert">${error.message}</p>` : null;

export const Loading = ({ loading }) => loading ? html`<p class="muted">Loading…</p>` : null;

/** A labelled bar: used against a limit (full = at the limit). */
export const Bar = ({ label, used, limit }) => {
  const share = limit > 0 ? Math.min(1, used / limit) : 0;
  return html`<div class="bar" title=${`${used} of ${limit}`}>
    <span class="bar-label">${label}</span>
    <span class="bar-track"><span class=${`bar-fill${share >= 0.9 ? ' hot' : ''}`} style=${{ width: `${(share * 100).toFixed(1)}%` }}></span></span>
    <span class="bar-value">${Number(used).toLocaleString()} / ${Number(limit).toLocaleString()}</span>
  </div>`;
};

/** A form submitted with `onSubmit(values)`; shows the API's error in place and clears it on success. */
export function Form({ onSubmit, children, submit = 'Save', id }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const handle = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(Object.fromEntries(new FormData(event.currentTarget)), event.currentTarget);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<form class="form" id=${id} onSubmit=${handle}>
    ${children}
    <button type="submit" disabled=${busy}>${submit}</button>
    <${ErrorNote} error=${error} />
  </form>`;
}

/** Optional numbers from a form: empty fields are left out (or null, to clear, when `clear` is set). */
export function numbers(values, names, clear = false) {
  const out = {};
  for (const name of names) {
    const raw = (values[name] ?? '').trim();
    if (raw !== '') out[name] = Number(raw);
    else if (clear) out[name] = null;
  }
  return out;
}
