// Throughput and latency over the last minute, drawn with uPlot. Samples
// come from app.js every half second; the charts keep the last 120.
import uPlot from 'uplot';

const WINDOW = 120;
const HEIGHT = 170;

const clock = (seconds) => new Date(seconds * 1000).toLocaleTimeString([], { hour12: false });
const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function lineChart(container, unit, series) {
  const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line'), width: 1 } };
  const data = [[], ...series.map(() => [])];
  const chart = new uPlot({
    width: container.clientWidth || 300,
    height: HEIGHT,
    cursor: { drag: { x: false, y: false } },
    // A legend of names and colours; values are read off the axes.
    legend: { live: false },
    scales: { x: { time: true }, y: { range: (_, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [
      { ...axis, label: 'time', labelSize: 18, size: 34, space: 70, values: (_, ticks) => ticks.map(clock) },
      { ...axis, label: unit, labelSize: 18, size: 46 },
    ],
    series: [
      { label: 'time' },
      ...series.map(([label, color]) => ({
        label,
        stroke: css(color),
        width: 2,
        points: { show: false },
      })),
    ],
  }, data, container);
  // uPlot draws at a fixed pixel size: follow the panel's width.
  new ResizeObserver(() => chart.setSize({ width: container.clientWidth, height: HEIGHT })).observe(container);
  return {
    push(time, values) {
      data[0].push(time / 1000);
      values.forEach((v, i) => data[i + 1].push(v));
      if (data[0].length > WINDOW) data.forEach((column) => column.shift());
      chart.setData(data);
    },
  };
}

export function createCharts() {
  const throughput = lineChart(document.getElementById('chart-throughput'), 'msg/s', [
    ['sent', '--sent'], ['acked', '--acked'], ['nacked', '--nacked'],
  ]);
  const latency = lineChart(document.getElementById('chart-latency'), 'ms', [
    ['p50', '--p50'], ['p95', '--p95'], ['p99', '--p99'],
  ]);
  return {
    /** `rates`: [sent, acked, nacked] per second; `latencyMs`: the queue's p50/p95/p99. */
    push(time, rates, latencyMs) {
      throughput.push(time, rates);
      latency.push(time, [latencyMs.p50, latencyMs.p95, latencyMs.p99]);
    },
  };
}
