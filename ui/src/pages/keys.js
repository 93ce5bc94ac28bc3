import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, when } from '../api.js';
import { useLoad } from '../hooks.js';
import { Bar, ErrorNote, Form, Loading, numbers } from '../widgets.js';

const limitFields = ['rpm', 'rpd', 'tpm', 'dailyInputTokens', 'dailyOutputTokens', 'dailyCostUsd', 'monthlyCostUsd', 'maxConcurrency'];

export function Keys() {
  const { data, error, loading, reload } = useLoad(() => api('keys'), []);
  const [created, setCreated] = useState(null);
  const create = async (values, form) => {
    const limits = numbers(values, limitFields);
    const key = await api('keys', {
      method: 'POST',
      body: { name: values.name, owner: values.owner || null, audit: values.audit, ...(Object.keys(limits).length ? { limits } : {}) },
    });
    form.reset();
    setCreated(key);
    await reload();
  };
  return html`<section>
    <header class="page-head"><h1>Keys</h1></header>
    ${created && html`<${CreatedKey} created=${created} onDone=${() => setCreated(null)} />`}
    <details class="panel">
      <summary>New key</summary>
      <${Form} id="new-key" submit="Create key" onSubmit=${create}>
        <label>Name <input name="name" required /></label>
        <label>Owner <input name="owner" /></label>
        <label>Audit <select name="audit"><option value="hashes">hashes</option><option value="full">full</option></select></label>
        <${LimitInputs} />
      <//>
    </details>
    <${ErrorNote} error=${error} />
    <${Loading} loading=${loading && !data} />
    <div class="cards">${data?.data.map((key) => html`<${KeyCard} key=${key.id} item=${key} onChange=${reload} />`)}</div>
  </section>`;
}

/** The plaintext, shown once: it is in no later answer of the API. */
function CreatedKey({ created, onDone }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(created.key);
    setCopied(true);
  };
  return html`<div class="panel notice" role="status">
    <p><strong>${created.name}</strong>: copy the key now; it is not shown again.</p>
    <code data-testid="new-key-plaintext">${created.key}</code>
    <button onClick=${copy}>${copied ? 'Copied' : 'Copy'}</button>
    <button class="quiet" onClick=${onDone}>Done</button>
  </div>`;
}

const LimitInputs = ({ limits = {} }) => html`<fieldset class="limits"><legend>Limits (empty: none)</legend>
  ${limitFields.map((f) => html`<label>${f}<input name=${f} type="number" min="0" step="any" defaultValue=${limits[f] ?? ''} /></label>`)}
</fieldset>`;

function KeyCard({ item, onChange }) {
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState(null);
  const quota = useLoad(() => (Object.keys(item.limits).length ? api(`keys/${item.id}/quota`) : Promise.resolve(null)), [item]);
  const act = (work) => async () => {
    setError(null);
    try { await work(); await onChange(); } catch (e) { setError(e); }
  };
  const saveLimits = async (values) => {
    await api(`keys/${item.id}`, { method: 'PATCH', body: { limits: numbers(values, limitFields, true) } });
    setEditing(false);
    await onChange();
  };
  return html`<article class="card" data-key-id=${item.id}>
    <header>
      <h3>${item.name} <span class=${`pill ${item.enabled ? 'ok' : 'off'}`}>${item.enabled ? 'enabled' : 'disabled'}</span></h3>
      <code>${item.hint}</code>
    </header>
    <dl>
      <dt>id</dt><dd>${item.id}</dd>
      <dt>owner</dt><dd>${item.owner ?? '—'}</dd>
      <dt>role</dt><dd>${item.role}</dd>
      <dt>audit</dt><dd>${item.audit}</dd>
      <dt>created</dt><dd>${when(item.createdAt)}</dd>
      <dt>expires</dt><dd>${when(item.expiresAt)}</dd>
    </dl>
    ${quota.data?.usage.map((line) => html`<${Bar} label=${line.limit} used=${line.used} limit=${line.amount} />`)}
    ${!Object.keys(item.limits).length && html`<p class="muted">No limits.</p>`}
    <div class="actions">
      <button onClick=${() => setEditing(!editing)}>Edit limits</button>
      <button onClick=${act(() => api(`keys/${item.id}`, { method: 'PATCH', body: { enabled: !item.enabled } }))}>${item.enabled ? 'Disable' : 'Enable'}</button>
      ${confirming
        ? html`<button class="danger" onClick=${act(() => api(`keys/${item.id}`, { method: 'DELETE' }))}>Really delete</button>`
        : html`<button class="quiet" onClick=${() => setConfirming(true)}>Delete</button>`}
    </div>
    ${editing && html`<${Form} submit="Save limits" onSubmit=${saveLimits}><${LimitInputs} limits=${item.limits} /><//>`}
    <${ErrorNote} error=${error} />
  </article>`;
}
