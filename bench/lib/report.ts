/**
 * Turns the scenario reports into the printed table, a Markdown table (for docs/bench.md),
 * and the target verdicts (MET / MISSED with the margin).
 */
import type { ScenarioReport } from './scenario.js';
import { SYSTEMS, SYSTEM_LABEL, type SystemName } from './systems.js';
import type { FanoutResult } from '../scenarios/fanout.js';
import type { Fanout3Result } from '../scenarios/fanout3.js';
import type { Storm3Result } from '../scenarios/storm3.js';
import type { PeerResult } from '../scenarios/peer.js';
import type { BuildFigures, StormResult } from '../scenarios/storm.js';
import type { MemoryResult } from '../scenarios/memory.js';
import type { ClientResult } from '../scenarios/client.js';
import type { FrameStats, InspectorResult } from '../scenarios/inspector.js';

export interface Reports {
  fanout?: ScenarioReport<FanoutResult>;
  peer?: ScenarioReport<PeerResult>;
  storm?: ScenarioReport<StormResult>;
  /** The storm with every client in one process (issue 11, item 6). */
  storm1?: ScenarioReport<StormResult>;
  memory?: ScenarioReport<MemoryResult>;
  client?: ScenarioReport<ClientResult>;
  /** Fan-out over three nodes on one Redis (issue 13). */
  fanout3?: ScenarioReport<Fanout3Result>;
  /** One of three nodes killed (issue 13). */
  storm3?: ScenarioReport<Storm3Result>;
  inspector?: ScenarioReport<InspectorResult>;
}

export interface Row {
  label: string;
  /** A section heading when no values are given. */
  values?: Partial<Record<SystemName, string>>;
}

export interface TargetVerdict {
  name: string;
  status: 'MET' | 'MISSED' | 'NOT RUN';
  detail: string;
}

const n = (v: number | undefined, digits = 0): string =>
  v === undefined || !Number.isFinite(v) ? '–' : v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const kib = (bytes: number | undefined, digits = 1): string => (bytes === undefined ? '–' : `${n(bytes / 1024, digits)} KiB`);

/** One client build's storm figures (`--baseline-client`), for the progress log and the table alike. */
export function formatBuildFigures(f: BuildFigures): string {
  return (
    `catch-up p50 / max ${f.catchUpP50Ms} / ${f.catchUpMaxMs} ms · on the socket that worked, p50 after the restore: ` +
    `dial ${f.dialP50Ms}, open ${f.openP50Ms}, resume sent ${f.helloP50Ms}, answer heard ${f.answerP50Ms} ms · ` +
    `CPU client ${n(f.clientCpuMs)} ms (outage ${n(f.clientOutageCpuMs)}), server ${n(f.serverCpuMs)}, proxy ${n(f.proxyCpuMs)} · ` +
    `${f.dialsPerClient} dials a client · ${f.reconnecting} RECONNECTING`
  );
}

function rowOf<T>(label: string, report: ScenarioReport<T> | undefined, pick: (r: T, s: SystemName) => string | undefined): Row {
  const values: Partial<Record<SystemName, string>> = {};
  for (const s of SYSTEMS) {
    const r = report?.systems[s];
    values[s] = r === undefined ? '–' : (pick(r, s) ?? '–');
  }
  return { label, values };
}

export function tableRows(reports: Reports): Row[] {
  const rows: Row[] = [];
  const { fanout, peer, storm1, memory, client, inspector } = reports;
  if (fanout) {
    const p = fanout.params as { members: number; senders: number };
    rows.push({ label: `1. Channel fan-out: ${p.members} members, ${p.senders} senders, 100-byte messages` });
    rows.push(rowOf('server CPU µs / delivery (steady)', fanout, (r) => n(r.steady.serverCpuMicrosPerDelivery, 2)));
    rows.push(rowOf('server CPU µs / delivery (burst)', fanout, (r) => n(r.burst.serverCpuMicrosPerDelivery, 2)));
    rows.push(rowOf('deliveries / s (burst)', fanout, (r) => n(r.burst.deliveriesPerSec)));
    rows.push(rowOf('latency p50 / p99 ms (steady)', fanout, (r) => `${n(r.steady.p50Ms, 1)} / ${n(r.steady.p99Ms, 1)}`));
    rows.push(rowOf('latency p50 / p99 ms (burst)', fanout, (r) => `${n(r.burst.p50Ms, 0)} / ${n(r.burst.p99Ms, 0)}`));
    rows.push(rowOf('delivered / lost / duplicated', fanout, (r) => `${n(r.steady.deliveries + r.burst.deliveries)} / ${r.steady.lost + r.burst.lost} / ${r.steady.duplicates + r.burst.duplicates}`));
  }
  if (peer) {
    const p = peer.params as { pairs: number };
    rows.push({ label: `2. Peer messaging: ${p.pairs} pairs` });
    rows.push(rowOf('messages / s (burst)', peer, (r) => n(r.burst.deliveriesPerSec)));
    rows.push(rowOf('latency p50 / p99 ms (steady)', peer, (r) => `${n(r.steady.p50Ms, 1)} / ${n(r.steady.p99Ms, 1)}`));
    rows.push(rowOf('server CPU µs / message (steady)', peer, (r) => n(r.steady.serverCpuMicrosPerDelivery, 2)));
    rows.push(rowOf('delivered / lost / duplicated', peer, (r) => `${n(r.steady.deliveries + r.burst.deliveries)} / ${r.steady.lost + r.burst.lost} / ${r.steady.duplicates + r.burst.duplicates}`));
  }
  for (const [heading, storm] of [['3. Reconnect storm', reports.storm], ['3b. Reconnect storm, every client in one process', storm1]] as const) {
    if (!storm) continue;
    const p = storm.params as { clients: number; outageMs: number; ratePerSec: number; stormProcesses: number };
    const where = p.stormProcesses === 1 ? '1 client process' : `${p.stormProcesses} client processes`;
    rows.push({ label: `${heading}: ${p.clients} clients cut, ${p.outageMs} ms outage, ${p.ratePerSec} msgs/s, ${where}` });
    rows.push(rowOf('caught up / clients', storm, (r, s) => `${r.caughtUp} / ${r.clients}${s === 'ws' ? ' re-opened' : ''}`));
    rows.push(rowOf('catch-up after restore p50 / p99 / max ms', storm, (r) => `${r.catchUpP50Ms} / ${r.catchUpP99Ms} / ${r.catchUpMaxMs}`));
    rows.push(rowOf('link up again p50 / max ms', storm, (r) => `${r.linkUpP50Ms} / ${r.linkUpMaxMs}`));
    rows.push(
      rowOf('(ours) dial started / socket open p50 / max ms', storm, (r) =>
        Number.isFinite(r.dialP50Ms) ? `${r.dialP50Ms} / ${r.dialMaxMs} · ${r.openP50Ms} / ${r.openMaxMs} (${r.dialsPerClient} dials each)` : 'n/a',
      ),
    );
    rows.push(rowOf('lost silently / duplicated', storm, (r) => `${r.lost} / ${r.duplicates}`));
    rows.push(
      rowOf('(ours) reported lost (R5.3 cap) / clients told / clients with a report', storm, (r, s) =>
        s === 'rtm' ? `${n(r.reportedLost)} / ${r.clientsReportedLoss} / ${r.clientsRecovered}${r.unrecovered ? ` (${r.unrecovered} not back)` : ''}` : 'n/a',
      ),
    );
    rows.push(rowOf('server CPU ms during the storm', storm, (r) => n(r.serverCpuMs)));
    rows.push(rowOf('client / proxy CPU ms during the storm', storm, (r) => `${n(r.clientCpuMs)} / ${n(r.proxyCpuMs)}`));
    rows.push(rowOf('client CPU ms from the cut to the restore', storm, (r) => n(r.clientOutageCpuMs)));
    const compared = storm.systems.rtm?.baseline;
    if (compared) {
      rows.push(rowOf(`(ours) baseline client, median of ${compared.rounds}`, storm, (_r, s) => (s === 'rtm' ? formatBuildFigures(compared.baseline) : '')));
      rows.push(rowOf(`(ours) this client, median of ${compared.rounds}`, storm, (_r, s) => (s === 'rtm' ? formatBuildFigures(compared.current) : '')));
    }
  }
  if (memory) {
    const p = memory.params as { connections: number };
    rows.push({ label: `4. Memory per idle connection: ${p.connections} connections` });
    rows.push(rowOf('server RSS / connection', memory, (r) => kib(r.rssBytesPerConnection)));
    rows.push(rowOf('server heap / connection', memory, (r) => kib(r.heapBytesPerConnection)));
  }
  const { fanout3 } = reports;
  if (fanout3) {
    const p = fanout3.params as { members: number; senders: number; nodes: number };
    rows.push({ label: `6. Channel fan-out over ${p.nodes} nodes on one Redis: ${p.members} members, ${p.senders} senders (steady)` });
    rows.push(rowOf('server CPU µs / delivery, one server', fanout3, (r) => n(r.single.serverCpuMicrosPerDelivery, 2)));
    rows.push(rowOf(`server CPU µs / delivery, ${p.nodes} nodes (summed)`, fanout3, (r) => `${n(r.nodes.serverCpuMicrosPerDelivery, 2)} (× ${n(r.cpuRatio, 2)})`));
    rows.push(rowOf('server CPU ms per node', fanout3, (r) => r.nodeCpuMs.map((v) => n(v)).join(' / ')));
    rows.push(rowOf(`latency p50 / p99 ms, ${p.nodes} nodes`, fanout3, (r) => `${n(r.nodes.p50Ms, 1)} / ${n(r.nodes.p99Ms, 1)}`));
    rows.push(rowOf(`delivered / lost / duplicated, ${p.nodes} nodes`, fanout3, (r) => `${n(r.nodes.deliveries)} / ${r.nodes.lost} / ${r.nodes.duplicates}`));
  }
  const { storm3 } = reports;
  if (storm3) {
    const p = storm3.params as { clients: number; nodes: number; ratePerSec: number };
    rows.push({ label: `7. Node loss: ${p.clients} clients over ${p.nodes} nodes behind a balancer, one node killed (SIGKILL), ${p.ratePerSec} msgs/s` });
    rows.push(rowOf('clients that lost their node / caught up / clients', storm3, (r) => `${r.affected} / ${r.caughtUp} / ${r.clients}`));
    rows.push(rowOf('catch-up after the kill p50 / max ms', storm3, (r) => `${r.catchUpP50Ms} / ${r.catchUpMaxMs}`));
    rows.push(rowOf('lost / duplicated', storm3, (r) => `${n(r.lost)} / ${r.duplicates}`));
    rows.push(rowOf('state changes after the kill', storm3, (r) => Object.entries(r.events).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'));
    rows.push(rowOf('server CPU ms of the nodes left', storm3, (r) => n(r.serverCpuMs)));
  }
  if (client) {
    rows.push({ label: '5. Client' });
    rows.push(rowOf('connection machine transitions / s', client, (r) => (r.transitionsPerSec === undefined ? 'n/a' : n(r.transitionsPerSec))));
    rows.push(rowOf('browser bundle, minified', client, (r, s) => (s === 'ws' ? '0 (native)' : kib(r.bundleBytes))));
    rows.push(rowOf('browser bundle, gzipped', client, (r, s) => (s === 'ws' ? '0 (native)' : kib(r.bundleGzipBytes))));
  }
  if (inspector) {
    const p = inspector.params as { actors: number; events: number };
    const frames = (f: FrameStats): string => `${n(f.p50Ms, 1)} / ${n(f.p95Ms, 1)} / ${n(f.maxMs, 0)} (${f.longTasks} long)`;
    rows.push({ label: `6. Inspector page in Chromium: ${n(p.actors)} actors, ${n(p.events)} events` });
    rows.push(rowOf('events ingested / s', inspector, (r) => n(r.ingestPerSec)));
    rows.push(rowOf('frame ms p50 / p95 / max, streaming', inspector, (r) => frames(r.streaming)));
    rows.push(rowOf('frame ms p50 / p95 / max, scrolling the log', inspector, (r) => frames(r.scrolling)));
    rows.push(rowOf('frame ms p50 / p95 / max, switching actors', inspector, (r) => frames(r.switching)));
    rows.push(rowOf('history held / log entries', inspector, (r) => `${kib(r.historyBytes, 0)} / ${n(r.logLength)}`));
  }
  return rows;
}

export function formatTable(rows: Row[]): string {
  const headers = ['', ...SYSTEMS.map((s) => SYSTEM_LABEL[s])];
  const widths = headers.map((h) => h.length);
  const body = rows.filter((r) => r.values);
  widths[0] = Math.max(widths[0]!, ...body.map((r) => r.label.length + 2));
  SYSTEMS.forEach((s, i) => (widths[i + 1] = Math.max(widths[i + 1]!, ...body.map((r) => (r.values?.[s] ?? '').length))));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[0]!) : c.padStart(widths[i]!))).join('  ');
  const out = [line(headers), widths.map((w) => '-'.repeat(w)).join('  ')];
  for (const row of rows) {
    if (!row.values) out.push(row.label);
    else out.push(line([`  ${row.label}`, ...SYSTEMS.map((s) => row.values?.[s] ?? '–')]));
  }
  return out.join('\n');
}

export function formatMarkdown(rows: Row[]): string {
  const out = [`| | ${SYSTEMS.map((s) => SYSTEM_LABEL[s]).join(' | ')} |`, `|---|${SYSTEMS.map(() => '---:').join('|')}|`];
  for (const row of rows) {
    if (!row.values) out.push(`| **${row.label}** |${SYSTEMS.map(() => ' ').join('|')}|`);
    else out.push(`| ${row.label} | ${SYSTEMS.map((s) => row.values?.[s] ?? '–').join(' | ')} |`);
  }
  return out.join('\n');
}

const pct = (v: number) => `${Math.round(v * 100)} %`;

export function evaluateTargets(reports: Reports): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const fan = reports.fanout?.systems;
  // Judged on both phases: a steady paced load (one message at a time on each socket) and a
  // burst (many messages per socket per tick, where coalescing applies).
  for (const phase of ['steady', 'burst'] as const) {
    const name = `fan-out server CPU per delivery ≤ ½ × Socket.IO (${phase})`;
    if (fan?.rtm && fan.socketio) {
      const ours = fan.rtm[phase].serverCpuMicrosPerDelivery;
      const theirs = fan.socketio[phase].serverCpuMicrosPerDelivery;
      const limit = theirs / 2;
      // Bare ws writes each delivery to its socket as it comes, with no state: where the limit
      // is below it, only writing fewer times than once per delivery can meet it.
      const floor = fan.ws?.[phase].serverCpuMicrosPerDelivery;
      const floorNote =
        floor === undefined ? '' : `; bare ws ${n(floor, 2)} µs${limit < floor ? ', so the limit is below the floor of one write per delivery' : ''}`;
      verdicts.push({
        name,
        status: ours <= limit ? 'MET' : 'MISSED',
        detail: `${n(ours, 2)} µs vs limit ${n(limit, 2)} µs (Socket.IO ${n(theirs, 2)} µs): ${ours <= limit ? `${pct(1 - ours / limit)} under` : `${pct(ours / limit - 1)} over`} the limit; Socket.IO uses ${n(theirs / ours, 1)}× our CPU${floorNote}`,
      });
    } else verdicts.push({ name, status: 'NOT RUN', detail: 'needs rtm and socketio' });
  }

  for (const [label, report] of [['storm', reports.storm], ['storm, one client process', reports.storm1]] as const) {
    const storm = report?.systems.rtm;
    if (!storm) {
      verdicts.push({ name: `${label} catch-up`, status: 'NOT RUN', detail: 'needs rtm' });
      continue;
    }
    const ok = storm.caughtUp === storm.clients && storm.lost === 0 && storm.duplicates === 0 && storm.catchUpMaxMs <= 1500;
    // The floor in the same run: bare ws sockets that only re-dial, in one process as ours.
    const floor = report?.systems.ws;
    const floorNote = floor
      ? `; bare ws in the same process only re-dialling: ${floor.caughtUp}/${floor.clients} re-opened, the last at ${floor.catchUpMaxMs} ms`
      : '';
    verdicts.push({
      name: `${label}: all ${storm.clients} caught up, 0 lost (or reported), 0 duplicated, within 1.5 s of the restore`,
      status: ok ? 'MET' : 'MISSED',
      detail: `${storm.caughtUp}/${storm.clients} caught up, ${storm.lost} lost silently, ${storm.reportedLost} reported lost to ${storm.clientsReportedLoss} clients, ${storm.duplicates} duplicated, last at ${storm.catchUpMaxMs} ms: ${storm.catchUpMaxMs <= 1500 ? `${1500 - storm.catchUpMaxMs} ms to spare` : `${storm.catchUpMaxMs - 1500} ms late`}${floorNote}`,
    });
  }

  const three = reports.fanout3?.systems;
  if (three?.rtm) {
    const r = three.rtm;
    const theirs = three.socketio ? `; Socket.IO with the Redis streams adapter × ${n(three.socketio.cpuRatio, 2)} (${n(three.socketio.nodes.serverCpuMicrosPerDelivery, 2)} µs)` : '';
    verdicts.push({
      name: 'fan-out over 3 nodes: server CPU per delivery summed over nodes ≤ 1.5 × one server',
      status: r.cpuRatio <= 1.5 && r.nodes.lost === 0 && r.nodes.duplicates === 0 ? 'MET' : 'MISSED',
      detail: `${n(r.nodes.serverCpuMicrosPerDelivery, 2)} µs on 3 nodes vs ${n(r.single.serverCpuMicrosPerDelivery, 2)} µs on one: × ${n(r.cpuRatio, 2)}, ${r.nodes.lost} lost, ${r.nodes.duplicates} duplicated${theirs}`,
    });
  } else verdicts.push({ name: 'fan-out over 3 nodes', status: 'NOT RUN', detail: 'needs rtm' });

  const lossRun = reports.storm3?.systems;
  if (lossRun?.rtm) {
    const r = lossRun.rtm;
    const moved = Object.entries(r.events).filter(([k]) => !k.startsWith('CONNECTED')).reduce((sum, [, v]) => sum + v, 0);
    const theirs = lossRun.socketio ? `; Socket.IO with the Redis streams adapter: ${n(lossRun.socketio.lost)} lost, ${lossRun.socketio.caughtUp}/${lossRun.socketio.clients} caught up` : '';
    verdicts.push({
      name: 'node loss: every client of the killed node back inside the grace, 0 lost, 0 duplicated, no state event',
      status: r.caughtUp === r.clients && r.lost === 0 && r.duplicates === 0 && moved === 0 && r.catchUpMaxMs < 4000 ? 'MET' : 'MISSED',
      detail: `${r.affected} clients lost their node; ${r.caughtUp}/${r.clients} caught up, the last ${r.catchUpMaxMs} ms after the kill; ${r.lost} lost, ${r.duplicates} duplicated, ${moved} state changes${theirs}`,
    });
  } else verdicts.push({ name: 'node loss', status: 'NOT RUN', detail: 'needs rtm' });

  const mem = reports.memory?.systems;
  if (mem?.rtm && mem.ws) {
    const ours = mem.rtm.rssBytesPerConnection;
    const limit = mem.ws.rssBytesPerConnection * 1.5;
    verdicts.push({
      name: 'memory per idle connection (RSS) ≤ 1.5 × bare ws',
      status: ours <= limit ? 'MET' : 'MISSED',
      detail: `${kib(ours)} vs limit ${kib(limit)} (bare ws ${kib(mem.ws.rssBytesPerConnection)}): ${n(ours / mem.ws.rssBytesPerConnection, 2)}× bare ws, ${ours <= limit ? `${pct(1 - ours / limit)} under` : `${pct(ours / limit - 1)} over`} the limit`,
    });
  } else verdicts.push({ name: 'memory per idle connection', status: 'NOT RUN', detail: 'needs rtm and ws' });
  return verdicts;
}

export function formatTargets(verdicts: TargetVerdict[]): string {
  return verdicts.map((v) => `${v.status.padEnd(7)} ${v.name}\n        ${v.detail}`).join('\n');
}
