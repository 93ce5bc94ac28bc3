import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const colors = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];

/**
 * A time series chart: `times` in seconds, `series` as [{ label, values }]. Drawn by uPlot on a canvas; redrawn when
 * the data change.
 */
export function TimeChart({ title, times, series, height = 200 }) {
  const box = useRef(null);
  useEffect(() => {
    if (!box.current) return undefined;
    const options = {
      title,
      width: Math.max(320, box.current.clientWidth || 640),
      height,
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colors[i % colors.length], width: 2, points: { show: times.length < 40 } }))],
      axes: [{}, { size: 60 }],
    };
    const chart = new uPlot(options, [times, ...series.map((s) => s.values)], box.current);
    return () => chart.destroy();
  }, [title, times, series, height]);
  // data-first-series-sum: what the first line adds up to, so a test can tell the chart drew the data it was given.
  const sum = series[0]?.values.reduce((a, b) => a + b, 0) ?? 0;
  return html`<div class="chart" data-points=${times.length} data-first-series-sum=${sum} ref=${box}></div>`;
}
