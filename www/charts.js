// Throughput and latency over the last minute, drawn with uPlot. Samples
// come from app.js every half second; the charts keep the last minute. The
// x axis counts seconds back from now, so the lines scroll left and the
// ticks stay put; units live in the captions, not over the tick values.
import uPlot from 'uplot';
import { RATE_SERIES } from './queue-view.js';

const WINDOW_S = 60;
const HEIGHT = 170;
const FONT = '12px system-ui, sans-serif';

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const ago = (v) => (v === 0 ? 'now' : `${-v} s`);
const number = (v) => v.toLocaleString('en');

// Measures tick values in a canvas of its own: uPlot caches its context's font.
const measure = document.createElement('canvas').getContext('2d');
measure.font = FONT;

/** Wide enough for the longest tick value: a fixed width cut "5,000" short. */
function valueWidth(_, values) {
  if (values == null) return 40;
  return Math.ceil(Math.max(...values.map((v) => measure.measureText(v).width))) + 16;
}

/** uPlot's options for `series`, in the colours the page has now. */
function options(width, series) {
  const axis = { font: FONT, stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line'), width: 1 } };
  return {
    width,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    // A legend of names and colours (dashed where the line is); values are read off the axes.
    legend: { live: false, markers: { dash: (self, i) => (self.series[i].dash ? 'dashed' : 'solid') } },
    scales: {
      x: { time: false, range: [-WINDOW_S, 0] },
      y: { range: (_, min, max) => [0, Math.max(1, (max ?? 0) * 1.15)] },
    },
    axes: [
      { ...axis, size: 30, space: 50, incrs: [5, 10, 15, 20, 30], values: (_, ticks) => ticks.map(ago) },
      { ...axis, size: valueWidth, values: (_, ticks) => ticks.map(number) },
    ],
    series: [
      { label: 'seconds ago' },
      ...series.map(({ label, color, dash }) => ({
        label,
        stroke: css(color),
        width: 2,
        dash,
        points: { show: false },
      })),
    ],
  };
}

function lineChart(container, series) {
  const times = [];
  const columns = series.map(() => []);
  const data = () => [times.map((t) => (t - (times.at(-1) ?? 0)) / 1000), ...columns];
  let chart = new uPlot(options(container.clientWidth || 300, series), data(), container);
  // uPlot draws at a fixed pixel size: follow the panel's width.
  new ResizeObserver(() => chart.setSize({ width: container.clientWidth, height: HEIGHT })).observe(container);
  // uPlot paints with the colours it was given: when the system turns dark
  // or light, the chart is made again in the new ones, with its data.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    chart.destroy();
    chart = new uPlot(options(container.clientWidth, series), data(), container);
  });
  return {
    push(time, values) {
      times.push(time);
      values.forEach((v, i) => columns[i].push(v));
      while (time - times[0] > WINDOW_S * 1000) {
        times.shift();
        columns.forEach((column) => column.shift());
      }
      chart.setData(data());
    },
  };
}

export function createCharts() {
  const throughput = lineChart(document.getElementById('chart-throughput'), RATE_SERIES);
  const latency = lineChart(document.getElementById('chart-latency'), [
    { label: 'p50', color: '--p50' }, { label: 'p95', color: '--p95' }, { label: 'max', color: '--pmax' },
  ]);
  return {
    /** `rates`: the per-second rates of `RATE_SERIES`; `latency`: [p50, p95, max] or nulls. */
    push(time, rates, latencyMs) {
      throughput.push(time, rates);
      latency.push(time, latencyMs);
    },
  };
}
