import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, number, when } from '../api.js';
import { useLoad } from '../hooks.js';
import { ErrorNote, Form, Loading } from '../widgets.js';

const providers = ['openai', 'azure-openai', 'anthropic', 'gemini', 'openrouter', 'ollama', 'openai-compatible'];
const list = (text) => (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export function Accounts() {
  const accounts = useLoad(() => api('accounts'), []);
  const events = useLoad(() => api('accounts/events'), []);
  const [login, setLogin] = useState(null);
  const reload = () => Promise.all([accounts.reload(), events.reload()]);
  const add = async (values, form) => {
    await api('accounts', {
      method: 'POST',
      body: {
        name: values.name, provider: values.provider, apiKey: values.apiKey || undefined, baseUrl: values.baseUrl || undefined,
        models: list(values.models), priority: values.priority ? Number(values.priority) : undefined,
      },
    });
    form.reset();
    await reload();
  };
  const authorize = async (values) => {
    setLogin(await api('oauth/authorize', {
      method: 'POST',
      body: { provider: values.provider, name: values.name, clientId: values.clientId, redirectUri: values.redirectUri, models: list(values.models) },
    }));
  };
  const complete = async (values) => {
    await api('oauth/complete', { method: 'POST', body: { state: login.state, code: values.code } });
    setLogin(null);
    await reload();
  };
  return html`<section>
    <header class="page-head"><h1>Accounts</h1></header>
    <details class="panel"><summary>Add by API key</summary>
      <${Form} id="new-account" submit="Add account" onSubmit=${add}>
        <label>Name <input name="name" required /></label>
        <label>Provider <select name="provider">${providers.map((p) => html`<option>${p}</option>`)}</select></label>
        <label>API key <input name="apiKey" type="password" autocomplete="off" /></label>
        <label>Base URL <input name="baseUrl" placeholder="provider default" /></label>
        <label>Models <input name="models" placeholder="gpt-4o, gpt-4o-mini" /></label>
        <label>Priority <input name="priority" type="number" /></label>
      <//>
    </details>
    <details class="panel"><summary>Add by OAuth login</summary>
      ${login
        ? html`<${Form} submit="Finish login" onSubmit=${complete}>
            <p>Open <a href=${login.authorizationUrl} target="_blank" rel="noreferrer noopener">the provider's sign-in page</a>, then paste the code it shows.</p>
            <label>Code <input name="code" required autocomplete="off" /></label>
          <//>`
        : html`<${Form} submit="Start login" onSubmit=${authorize}>
            <label>Provider <select name="provider"><option>anthropic</option><option>gemini</option></select></label>
            <label>Name <input name="name" required /></label>
            <label>Client id <input name="clientId" required /></label>
            <label>Redirect URI <input name="redirectUri" required /></label>
            <label>Models <input name="models" /></label>
          <//>`}
    </details>
    <${ErrorNote} error=${accounts.error} />
    <${Loading} loading=${accounts.loading && !accounts.data} />
    <div class="cards">${accounts.data?.data.map((a) => html`<${AccountCard} key=${a.id} item=${a} onChange=${reload} />`)}</div>
    <h2>Events</h2>
    <table><thead><tr><th>at</th><th>account</th><th>status</th><th>until</th><th>reason</th></tr></thead>
      <tbody>${events.data?.data.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.account}</td><td>${e.status}</td><td>${when(e.until)}</td><td>${e.reason}</td></tr>`)}</tbody></table>
  </section>`;
}

function AccountCard({ item, onChange }) {
  const [error, setError] = useState(null);
  const health = item.health ?? {};
  const patch = async (body) => {
    setError(null);
    try { await api(`accounts/${item.id}`, { method: 'PATCH', body }); await onChange(); } catch (e) { setError(e); }
  };
  return html`<article class="card" data-account-id=${item.id}>
    <header><h3>${item.name} <span class=${`pill ${health.status === 'available' ? 'ok' : 'off'}`}>${health.status ?? (item.enabled ? 'enabled' : 'disabled')}</span></h3><code>${item.provider}</code></header>
    <dl>
      <dt>id</dt><dd>${item.id}</dd>
      <dt>models</dt><dd>${item.models.join(', ') || '—'}</dd>
      <dt>cool-down until</dt><dd>${when(health.until)}</dd>
      <dt>last error</dt><dd>${health.lastError ?? '—'}</dd>
      <dt>in flight</dt><dd>${number(health.inFlight)}</dd>
      <dt>success rate</dt><dd>${health.successRate === null || health.successRate === undefined ? '—' : `${number(health.successRate * 100, 1)} % of ${number(health.recentRequests)}`}</dd>
    </dl>
    <div class="actions">
      <${Form} submit="Set priority" onSubmit=${(v) => patch({ priority: Number(v.priority) })}>
        <label>Priority <input name="priority" type="number" defaultValue=${item.priority} /></label>
      <//>
      <button onClick=${() => patch({ enabled: !item.enabled })}>${item.enabled ? 'Disable' : 'Enable'}</button>
    </div>
    <${ErrorNote} error=${error} />
  </article>`;
}
