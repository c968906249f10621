/**
 * A self-contained SVG of one run: a small horizontal bar chart per headline metric, one bar
 * per system. No scripts, fonts or links to fetch: it opens anywhere.
 */
import type { Reports } from './report.js';
import { SYSTEMS, SYSTEM_LABEL, type SystemName } from './systems.js';

interface Panel {
  title: string;
  unit: string;
  better: 'lower' | 'higher';
  values: Partial<Record<SystemName, number>>;
  /** Shown instead of a bar for a system without a value. */
  missing?: string;
}

const COLORS: Record<SystemName, string> = { rtm: '#2563eb', socketio: '#6b7280', ws: '#a3a3a3' };

function panels(reports: Reports): Panel[] {
  const out: Panel[] = [];
  const add = (title: string, unit: string, better: Panel['better'], pick: (s: SystemName) => number | undefined, missing?: string) => {
    const values: Panel['values'] = {};
    for (const s of SYSTEMS) {
      const v = pick(s);
      if (v !== undefined && Number.isFinite(v)) values[s] = v;
    }
    if (Object.keys(values).length > 0) out.push({ title, unit, better, values, ...(missing ? { missing } : {}) });
  };
  const { fanout, peer, storm, storm1, memory, client } = reports;
  add('Fan-out: server CPU per delivery (steady)', 'µs', 'lower', (s) => fanout?.systems[s]?.steady.serverCpuMicrosPerDelivery);
  add('Fan-out: server CPU per delivery (burst)', 'µs', 'lower', (s) => fanout?.systems[s]?.burst.serverCpuMicrosPerDelivery);
  add('Fan-out: deliveries per second (burst)', '/s', 'higher', (s) => fanout?.systems[s]?.burst.deliveriesPerSec);
  add('Fan-out: p99 latency (steady)', 'ms', 'lower', (s) => fanout?.systems[s]?.steady.p99Ms);
  add('Peer: messages per second (burst)', '/s', 'higher', (s) => peer?.systems[s]?.burst.deliveriesPerSec);
  add('Peer: p99 latency (steady)', 'ms', 'lower', (s) => peer?.systems[s]?.steady.p99Ms);
  add('Storm: last client caught up after restore', 'ms', 'lower', (s) => storm?.systems[s]?.catchUpMaxMs, 'not run: no reconnection or replay');
  add('Storm, one client process: last caught up', 'ms', 'lower', (s) => storm1?.systems[s]?.catchUpMaxMs, 'not run: no reconnection or replay');
  add('Memory: server RSS per idle connection', 'KiB', 'lower', (s) => {
    const v = memory?.systems[s]?.rssBytesPerConnection;
    return v === undefined ? undefined : v / 1024;
  });
  add('Client bundle, minified + gzipped', 'KiB', 'lower', (s) => {
    const v = client?.systems[s]?.bundleGzipBytes;
    return v === undefined || s === 'ws' ? undefined : v / 1024;
  }, 'none: the browser\'s WebSocket');
  return out;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function format(v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

export function renderChart(reports: Reports, subtitle: string): string {
  const list = panels(reports);
  const panelW = 460;
  const panelH = 30 + SYSTEMS.length * 26 + 14;
  const cols = 2;
  const rows = Math.ceil(list.length / cols);
  const labelW = 110;
  const width = cols * panelW + 20;
  const height = 70 + rows * panelH + 30;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`);
  parts.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  parts.push(`<text x="20" y="30" font-size="18" font-weight="600" fill="#111">rtm-statechart vs Socket.IO 4 vs bare ws</text>`);
  parts.push(`<text x="20" y="50" font-size="12" fill="#555">${esc(subtitle)}</text>`);
  list.forEach((panel, i) => {
    const x = 10 + (i % cols) * panelW;
    const y = 65 + Math.floor(i / cols) * panelH;
    const max = Math.max(...Object.values(panel.values).map((v) => v ?? 0), 1e-9);
    const barMax = panelW - labelW - 90;
    parts.push(`<g transform="translate(${x},${y})">`);
    parts.push(`<text x="10" y="16" font-size="13" font-weight="600" fill="#222">${esc(panel.title)}</text>`);
    parts.push(`<text x="${panelW - 20}" y="16" font-size="11" text-anchor="end" fill="#777">${panel.better} is better</text>`);
    SYSTEMS.forEach((s, j) => {
      const by = 28 + j * 26;
      const v = panel.values[s];
      parts.push(`<text x="10" y="${by + 14}" font-size="12" fill="#333">${esc(SYSTEM_LABEL[s])}</text>`);
      if (v === undefined) {
        parts.push(`<text x="${labelW}" y="${by + 14}" font-size="12" fill="#999">${esc(panel.missing ?? 'not measured')}</text>`);
        return;
      }
      const w = Math.max(1, (v / max) * barMax);
      parts.push(`<rect x="${labelW}" y="${by}" width="${w.toFixed(1)}" height="18" rx="2" fill="${COLORS[s]}"/>`);
      parts.push(`<text x="${(labelW + w + 6).toFixed(1)}" y="${by + 14}" font-size="12" fill="#111">${esc(format(v))} ${esc(panel.unit)}</text>`);
    });
    parts.push(`</g>`);
  });
  parts.push(`<text x="20" y="${height - 12}" font-size="11" fill="#777">Generated by bench/run.ts. Server CPU is measured inside the server process (process.cpuUsage).</text>`);
  parts.push(`</svg>`);
  return parts.join('\n');
}
