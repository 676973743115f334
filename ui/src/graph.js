// The traffic graph: received and sent bytes per period from the daemon's history (per
// minute over 24 h, per hour over 30 days), drawn by uPlot (loaded with the server page).
import { h, bytes } from './dom.js';

let lib = null;
async function load() {
  if (!lib) {
    document.head.append(h('link', { rel: 'stylesheet', href: '/ui/uPlot.min.css' }));
    lib = import('/ui/uPlot.esm.js');
  }
  return (await lib).default;
}

export async function drawTraffic(box, series, width) {
  const uPlot = await load();
  const per = series.period_seconds;
  // bytes per second over each period, so minutes and hours read on one scale
  const rate = (a) => a.map((v) => v / per);
  box.replaceChildren();
  if (!series.ts.length) {
    box.append(h('p', { class: 'muted' }, 'No traffic recorded yet (the first point comes a period after the start).'));
    return null;
  }
  return new uPlot({
    width, height: 220,
    scales: { x: { time: true } },
    axes: [{}, { values: (u, vals) => vals.map((v) => `${bytes(v)}/s`), size: 80 }],
    series: [{}, { label: 'received', stroke: '#1d4f91', width: 2 },
      { label: 'sent', stroke: '#c2410c', width: 2 }],
  }, [series.ts, rate(series.rx_bytes), rate(series.tx_bytes)], box);
}
