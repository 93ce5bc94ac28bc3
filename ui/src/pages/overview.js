import { html } from 'htm/preact';
import { useMemo, useState } from 'preact/hooks';
import { api, number } from '../api.js';
import { TimeChart } from '../chart.js';
import { useLoad } from '../hooks.js';
import { ErrorNote, Loading } from '../widgets.js';

const periods = {
  '24h': { days: 2, groupBy: 'hour', hours: 24 },
  '7d': { days: 7, groupBy: 'day' },
  '30d': { days: 30, groupBy: 'day' },
};

const day = (date) => date.toISOString().slice(0, 10);

async function loadUsage(period) {
  const { days, groupBy } = periods[period];
  const to = new Date();
  const from = new Date(to.getTime() - (days - 1) * 86400000);
  const range = `from=${day(from)}&to=${day(to)}`;
  const [series, keys, models] = await Promise.all([
    api(`usage?${range}&groupBy=${groupBy}`),
    api(`usage?${range}&groupBy=key`),
    api(`usage?${range}&groupBy=model`),
  ]);
  return { series, keys, models, groupBy };
}

/** Every bucket of the period, oldest first, zero where nothing was used: lines stay continuous and the axis spans the period. */
function series(data, period) {
  const { days, hours } = periods[period];
  const step = hours ? 3600000 : 86400000;
  const now = Date.now();
  const last = Math.floor(now / step) * step;
  const count = hours ?? days;
  const label = (at) => (hours ? `${new Date(at).toISOString().slice(0, 13)}:00Z` : new Date(at).toISOString().slice(0, 10));
  const byBucket = new Map(data.series.data.map((row) => [row[data.groupBy], row]));
  const buckets = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * step);
  const rows = buckets.map((at) => byBucket.get(label(at)) ?? {});
  const pick = (f) => rows.map((r) => f(r) ?? 0);
  return {
    times: buckets.map((at) => at / 1000),
    requests: [{ label: 'requests', values: pick((r) => r.requests) }, { label: 'errors', values: pick((r) => r.errors) }],
    tokens: [{ label: 'input tokens', values: pick((r) => r.inputTokens) }, { label: 'output tokens', values: pick((r) => r.outputTokens) }],
    cost: [{ label: 'cost (USD)', values: pick((r) => r.costUsd) }],
  };
}

const top = (usage, field) => [...usage.data].sort((a, b) => b.requests - a.requests).slice(0, 10).map((row) => ({ name: row[field], ...row }));

export function Overview() {
  const [period, setPeriod] = useState('24h');
  const { data, error, loading } = useLoad(() => loadUsage(period), [period]);
  const charts = useMemo(() => (data ? series(data, period) : null), [data, period]);
  const total = data?.series.total;
  return html`<section>
    <header class="page-head">
      <h1>Overview</h1>
      <div class="tabs" role="tablist">
        ${Object.keys(periods).map((p) => html`<button role="tab" aria-selected=${p === period} class=${p === period ? 'on' : ''} onClick=${() => setPeriod(p)}>${p}</button>`)}
      </div>
    </header>
    <${ErrorNote} error=${error} />
    <${Loading} loading=${loading && !data} />
    ${total && html`<div class="tiles">
      <div class="tile"><span>Requests</span><strong data-testid="total-requests">${number(total.requests)}</strong></div>
      <div class="tile"><span>Errors</span><strong>${number(total.errors)}</strong></div>
      <div class="tile"><span>Tokens in / out</span><strong>${number(total.inputTokens)} / ${number(total.outputTokens)}</strong></div>
      <div class="tile"><span>Cost</span><strong>$${number(total.costUsd, 4)}</strong></div>
      <div class="tile"><span>Latency p50 / p95 / p99</span><strong>${ms(total.latencyMs)}</strong></div>
      <div class="tile"><span>First token p50 / p95 / p99</span><strong>${ms(total.timeToFirstByteMs)}</strong></div>
    </div>`}
    ${charts && html`<div class="charts">
      <${TimeChart} title="Requests and errors" times=${charts.times} series=${charts.requests} />
      <${TimeChart} title="Tokens" times=${charts.times} series=${charts.tokens} />
      <${TimeChart} title="Cost" times=${charts.times} series=${charts.cost} />
    </div>`}
    ${data && html`<div class="columns">
      <${TopTable} title="Top keys" rows=${top(data.keys, 'key')} />
      <${TopTable} title="Top models" rows=${top(data.models, 'model')} />
    </div>`}
  </section>`;
}

const ms = (p) => [p.p50, p.p95, p.p99].map((v) => (v === null || v === undefined ? '—' : `${number(v, 1)} ms`)).join(' / ');

const TopTable = ({ title, rows }) => html`<div>
  <h2>${title}</h2>
  <table><thead><tr><th>name</th><th>requests</th><th>tokens</th><th>cost</th></tr></thead>
  <tbody>${rows.map((r) => html`<tr><td>${r.name}</td><td>${number(r.requests)}</td><td>${number(r.inputTokens + r.outputTokens)}</td><td>$${number(r.costUsd, 4)}</td></tr>`)}</tbody></table>
</div>`;
