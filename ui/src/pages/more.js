import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, number, when } from '../api.js';
import { useLoad } from '../hooks.js';
import { ErrorNote, Form, Loading } from '../widgets.js';

export function ModelGroups() {
  const { data, error, loading, reload } = useLoad(() => api('models'), []);
  const save = async (values, form) => {
    // One target per line: "provider:upstreamModel" or "acct_…:upstreamModel".
    const targets = values.targets.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
      const at = line.indexOf(':');
      const [where, upstreamModel] = [line.slice(0, at), line.slice(at + 1)];
      return where.startsWith('acct_') ? { account: where, upstreamModel } : { provider: where, upstreamModel };
    });
    await api('models', { method: 'POST', body: { name: values.name, strategy: values.strategy, targets } });
    form.reset();
    await reload();
  };
  return html`<section>
    <header class="page-head"><h1>Model groups</h1></header>
    <details class="panel"><summary>New or replace</summary>
      <${Form} submit="Save group" onSubmit=${save}>
        <label>Name <input name="name" required /></label>
        <label>Strategy <select name="strategy"><option>priority</option><option>round-robin</option></select></label>
        <label>Targets <textarea name="targets" rows="3" placeholder="openai:gpt-4o&#10;acct_…:gpt-4o" required></textarea></label>
      <//>
    </details>
    <${ErrorNote} error=${error} /><${Loading} loading=${loading && !data} />
    <table><thead><tr><th>name</th><th>strategy</th><th>targets</th><th>fallback</th><th></th></tr></thead>
    <tbody>${data?.data.map((g) => html`<tr>
      <td>${g.name}</td><td>${g.strategy}</td>
      <td>${g.targets.map((t) => `${t.account ?? t.provider} → ${t.upstreamModel}`).join(', ')}</td>
      <td>${g.fallback.join(', ') || '—'}</td>
      <td><button class="quiet" onClick=${async () => { await api(`models/${encodeURIComponent(g.name)}`, { method: 'DELETE' }); await reload(); }}>Delete</button></td>
    </tr>`)}</tbody></table>
  </section>`;
}

export function Pricing() {
  const { data, error, loading, reload } = useLoad(() => api('pricing'), []);
  const [failure, setFailure] = useState(null);
  const reset = async () => {
    try { await api('pricing', { method: 'DELETE' }); await reload(); } catch (e) { setFailure(e); }
  };
  return html`<section>
    <header class="page-head"><h1>Pricing</h1>${data && !data.default && html`<button onClick=${reset}>Back to the built-in table</button>`}</header>
    <${ErrorNote} error=${error ?? failure} /><${Loading} loading=${loading && !data} />
    ${data && html`<p class="muted">${data.default ? 'Built-in table' : 'Custom table'}${data.source ? `: ${data.source}` : ''}. USD ${data.unit}.</p>
    <table><thead><tr><th>model</th><th>input</th><th>output</th><th>cache read</th><th>cache write</th><th>tiers</th></tr></thead>
    <tbody>${data.prices.map((p) => html`<tr><td>${p.model}</td><td>${p.input}</td><td>${p.output}</td><td>${p.cacheRead ?? '—'}</td><td>${p.cacheWrite ?? '—'}</td>
      <td>${(p.tiers ?? []).map((t) => `> ${number(t.aboveInputTokens)}: ${t.input} / ${t.output}`).join('; ') || '—'}</td></tr>`)}</tbody></table>`}
  </section>`;
}

export function Channels() {
  const { data, error, loading, reload } = useLoad(() => api('channels'), []);
  return html`<section>
    <header class="page-head"><h1>IM channels</h1></header>
    <${ErrorNote} error=${error} /><${Loading} loading=${loading && !data} />
    ${data?.data.length === 0 && html`<p class="muted">No channels. Create one with POST /api/admin/channels.</p>`}
    <div class="cards">${data?.data.map((c) => html`<${ChannelCard} key=${c.id} item=${c} onChange=${reload} />`)}</div>
  </section>`;
}

function ChannelCard({ item, onChange }) {
  const [open, setOpen] = useState(false);
  const pending = useLoad(() => (open ? api(`channels/${item.id}/pending?limit=20`) : Promise.resolve(null)), [open, item]);
  const toggle = async () => { await api(`channels/${item.id}`, { method: 'PATCH', body: { enabled: !item.enabled } }); await onChange(); };
  return html`<article class="card">
    <header><h3>${item.name} <span class=${`pill ${item.enabled ? 'ok' : 'off'}`}>${item.platform}</span></h3><code>${item.model}</code></header>
    <dl><dt>webhook</dt><dd>${item.webhookUrl}</dd><dt>key</dt><dd>${item.keyId}</dd><dt>audit</dt><dd>${item.audit}</dd><dt>credentials</dt><dd>${item.credentials.join(', ')}</dd></dl>
    <div class="actions"><button onClick=${() => setOpen(!open)}>${open ? 'Hide' : 'Pending messages'}</button><button onClick=${toggle}>${item.enabled ? 'Disable' : 'Enable'}</button></div>
    ${open && html`<table><thead><tr><th>received</th><th>conversation</th><th>state</th><th>reason</th></tr></thead>
      <tbody>${pending.data?.data.map((m) => html`<tr><td>${when(m.receivedAt)}</td><td>${m.conversationId}</td><td>${m.state}</td><td>${m.reason ?? ''}</td></tr>`)}</tbody></table>`}
  </article>`;
}

export function Notifications() {
  const { data, error, loading, reload } = useLoad(() => api('notifications'), []);
  const [note, setNote] = useState(null);
  const test = async (id) => {
    setNote(null);
    try { await api(`notifications/${id}/test`, { method: 'POST', body: {} }); setNote({ message: 'Test notification queued.' }); } catch (e) { setNote(e); }
  };
  return html`<section>
    <header class="page-head"><h1>Notification targets</h1></header>
    <${ErrorNote} error=${error} /><${Loading} loading=${loading && !data} />
    ${note && html`<p class=${note instanceof Error ? 'error' : 'muted'}>${note.message}</p>`}
    <table><thead><tr><th>name</th><th>type</th><th>host</th><th>events</th><th>enabled</th><th></th></tr></thead>
    <tbody>${data?.data.map((t) => html`<tr><td>${t.name}</td><td>${t.type}</td><td>${t.host ?? '—'}</td><td>${t.events.join(', ')}</td><td>${t.enabled ? 'yes' : 'no'}</td>
      <td><button onClick=${() => test(t.id)}>Send test</button>
      <button class="quiet" onClick=${async () => { await api(`notifications/${t.id}`, { method: 'PATCH', body: { enabled: !t.enabled } }); await reload(); }}>${t.enabled ? 'Disable' : 'Enable'}</button></td></tr>`)}</tbody></table>
  </section>`;
}
