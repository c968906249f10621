/** The inspector page's HTML shell and styles; the behaviour is in inspector/page (app.js). */
const styles = `
:root { --bg:#f6f7f9; --panel:#fff; --line:#d9dde3; --text:#1d2430; --muted:#6b7480; --accent:#2463eb; --active:#e8f0ff; --active-line:#2463eb; --taken:#f59e0b; --ok:#16a34a; --bad:#dc2626; }
* { box-sizing: border-box; }
html, body { margin:0; height:100%; background:var(--bg); color:var(--text); font:13px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
#app { display:grid; height:100vh; grid-template-columns: 280px minmax(0,1fr) 330px; grid-template-rows: 40px minmax(0,1fr) 250px;
  grid-template-areas: "top top top" "left center right" "bottom bottom bottom"; }
@media (max-width: 640px) {
  #app { grid-template-columns:minmax(0,1fr); grid-template-rows:auto 260px minmax(420px,70vh) auto 320px; grid-template-areas:"top" "left" "center" "right" "bottom"; height:auto; min-height:100vh; }
  header.top { flex-wrap:wrap; padding:6px 10px; gap:6px; }
  aside.left, aside.right { border:0; border-bottom:1px solid var(--line); }
  .timeline { flex-wrap:wrap; }
  .timeline-label { min-width:0; flex-basis:100%; }
  .log-toolbar { flex-wrap:wrap; }
  .log-search { flex:1 1 100%; }
  .log-row { grid-template-columns:84px 110px 160px 140px 110px 400px; }
  .log-rows .log-row { width:max-content; min-width:100%; }
  .log-header { overflow:hidden; }
  .log-rows { right:auto; }
}
@media (max-width: 1000px) and (min-width: 641px) { #app { grid-template-columns: 220px minmax(0,1fr); grid-template-rows: 40px minmax(0,1fr) 300px 250px;
  grid-template-areas: "top top" "left center" "right right" "bottom bottom"; height:auto; min-height:100vh; } }
header.top { grid-area:top; display:flex; align-items:center; gap:12px; padding:0 14px; background:#111827; color:#fff; min-width:0; overflow:hidden; }
header.top h1 { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; min-width:0; }
.view-status { white-space:nowrap; overflow:hidden; text-overflow:ellipsis; max-width:60vw; cursor:pointer; }
header.top h1 { font-size:15px; margin:0; font-weight:600; }
.live-status { font-size:12px; padding:2px 8px; border-radius:10px; background:#374151; }
.live-status[data-live="true"] { background:var(--ok); }
.live-status[data-live="recording"], .view-status[data-view="recording"] { background:#7c3aed; color:#fff; }
.recording-tools { margin-left:auto; display:flex; align-items:center; gap:6px; min-width:0; }
.recording-tools button, .recording-import { font-size:12px; padding:2px 8px; border:1px solid #4b5563; border-radius:4px; background:#1f2937; color:#fff; cursor:pointer; white-space:nowrap; }
.recording-input { display:none; }
.recording-error { color:#fecaca; font-size:12px; max-width:40vw; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.view-status { font-size:12px; padding:2px 8px; border-radius:10px; background:#374151; color:#fff; border:0; }
.view-status[data-view="past"] { background:var(--taken); color:#111827; font-weight:600; }
.actor-list li[data-stale="true"] { opacity:.6; }
.actor-list .dot.stale { background:transparent; border:1.5px solid var(--muted); }
.stale-badge { font:600 10px system-ui, sans-serif; text-transform:uppercase; padding:0 4px; border-radius:3px; background:#e5e7eb; color:#374151; }
aside.left { grid-area:left; overflow:hidden; border-right:1px solid var(--line); background:var(--panel); display:flex; flex-direction:column; min-height:0; }
aside.left .demo-slot { flex:0 1 auto; max-height:55%; overflow:auto; }
aside.left .panel.actors { flex:1 1 auto; min-height:120px; overflow:auto; }
main.center { grid-area:center; display:flex; flex-direction:column; min-width:0; min-height:0; }
aside.right { grid-area:right; overflow:auto; border-left:1px solid var(--line); background:var(--panel); }
footer.bottom { grid-area:bottom; min-height:0; border-top:1px solid var(--line); background:var(--panel); display:flex; }
.panel { padding:8px 10px; }
h2 { font-size:12px; text-transform:uppercase; letter-spacing:.05em; color:var(--muted); margin:4px 0 8px; }
h3 { font-size:12px; color:var(--muted); margin:10px 0 4px; }
.muted { color:var(--muted); }
button { font:inherit; padding:3px 8px; border:1px solid var(--line); background:var(--panel); color:var(--text); border-radius:4px; cursor:pointer; }
.copy-definition[data-copied="true"] { background:var(--ok); border-color:var(--ok); color:#fff; }
.log[data-paused="true"] .log-count { color:var(--taken); font-weight:600; }
button:hover { border-color:var(--accent); }
input, select { font:inherit; padding:3px 6px; border:1px solid var(--line); border-radius:4px; background:var(--panel); color:var(--text); }
.actor-search { width:100%; margin-bottom:6px; }
.actor-list { list-style:none; margin:0; padding:0; }
.actor-list li { content-visibility:auto; contain-intrinsic-size:auto 38px; display:grid; grid-template-columns:10px auto 1fr; grid-template-rows:auto auto; column-gap:6px; padding:4px 8px; border-radius:4px; cursor:pointer; }
.actor-list li:hover { background:#f1f3f6; }
.actor-list li[data-selected="true"] { background:var(--active); outline:1px solid var(--active-line); }
.actor-list .dot { width:8px; height:8px; border-radius:50%; background:var(--ok); align-self:center; }
.actor-list .dot.done, .actor-list .dot.stopped { background:#9ca3af; }
.actor-list .dot.error { background:var(--bad); }
.actor-name { font-weight:600; }
.actor-state { text-align:right; font-family:ui-monospace, monospace; font-size:12px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.actor-id { grid-column:2 / 4; font-size:11px; font-family:ui-monospace, monospace; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.chart { position:relative; flex:1; min-height:0; display:flex; flex-direction:column; }
.chart[hidden], .sequence[hidden] { display:none; }
.view-tabs { display:flex; gap:4px; padding:4px 8px 0; background:var(--panel); }
.view-tabs button[aria-pressed="true"] { background:var(--accent); border-color:var(--accent); color:#fff; }
.sequence { flex:1; min-height:0; display:flex; flex-direction:column; }
.seq-scroll { flex:1; overflow:auto; min-height:0; }
.seq-canvas { position:relative; font-size:12px; }
.seq-group { position:absolute; top:2px; height:16px; font:600 11px system-ui, sans-serif; text-transform:uppercase; letter-spacing:.04em; color:var(--muted); border-bottom:2px solid var(--line); }
.seq-lane-head { position:absolute; top:20px; width:200px; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.seq-lifeline { position:absolute; width:0; border-left:1px dashed var(--line); }
.seq-time { position:absolute; left:4px; width:84px; font:11px ui-monospace, monospace; color:var(--muted); }
.seq-span { position:absolute; border-radius:3px; overflow:visible; min-height:4px; }
.seq-span.state { width:20px; background:var(--active); border:1px solid var(--active-line); opacity:.7; }
.seq-span.link-lost { width:8px; background:var(--bad); opacity:.75; }
.seq-span.delay { width:6px; background:#7c3aed; opacity:.8; }
.seq-span-label { position:absolute; left:calc(100% + 2px); top:2px; white-space:nowrap; font-size:10.5px; color:var(--muted); pointer-events:none; writing-mode:vertical-rl; }
.seq-span.state .seq-span-label { display:none; }
.seq-span.link-lost .seq-span-label { color:var(--bad); font-weight:600; }
.seq-span.delay .seq-span-label { color:#7c3aed; }
.seq-event { position:absolute; white-space:nowrap; padding-left:14px; max-width:150px; overflow:hidden; text-overflow:ellipsis; font-family:ui-monospace, monospace; font-size:11.5px; background:color-mix(in srgb, var(--panel) 80%, transparent); }
.seq-dot { position:absolute; left:0; top:4px; width:8px; height:8px; border-radius:50%; background:var(--accent); }
.seq-message { position:absolute; height:14px; border-bottom:1.5px solid var(--taken); font:10.5px ui-monospace, monospace; color:var(--text); text-align:center; }
.seq-message.right::after, .seq-message.left::before { content:''; position:absolute; bottom:-5px; border:4px solid transparent; }
.seq-message.right::after { right:-2px; border-left:7px solid var(--taken); }
.seq-message.left::before { left:-2px; border-right:7px solid var(--taken); }
.chart-head { display:flex; align-items:center; gap:8px; padding:4px 8px 4px 12px; border-bottom:1px solid var(--line); background:var(--panel); }
.chart-caption, .seq-caption { flex:1; min-width:0; font-weight:600; overflow:hidden; text-overflow:ellipsis; white-space:nowrap; }
.zoom-bar { flex:none; display:flex; gap:4px; }
.chart-scroll { flex:1; overflow:auto; min-height:0; cursor:grab; }
.chart-scroll[data-panning="true"] { cursor:grabbing; user-select:none; }
.pan-hint { display:none; position:absolute; left:10px; bottom:8px; font-size:11.5px; padding:2px 8px; border-radius:10px; background:var(--panel); border:1px solid var(--line); color:var(--muted); pointer-events:none; z-index:4; }
.chart-scroll[data-overflow="true"] + .pan-hint { display:block; }
.chart-canvas { position:relative; transform-origin:0 0; margin:0; }
.chart-edges { position:absolute; left:0; top:0; pointer-events:none; overflow:visible; }
.state { position:absolute; border:1.5px solid #9aa4b2; border-radius:8px; background:#fff; transition:background .25s, border-color .25s, box-shadow .25s; }
.state.compound { background:rgba(255,255,255,.6); }
.state.root { border-style:dashed; background:transparent; }
.state-name { padding:6px 10px 0; font-weight:600; white-space:nowrap; }
.state:not(.compound) .state-name { text-align:center; padding-top:8px; }
.state-targetless { padding:0 10px; font-size:11px; color:var(--muted); white-space:nowrap; }
.state[data-active="true"] { border-color:var(--active-line); background:var(--active); box-shadow:0 0 0 2px rgba(36,99,235,.25); }
.state.entered { animation:enter .9s ease-out; }
.state.entered-again { animation:enter-again .9s ease-out; }
@keyframes enter { from { box-shadow:0 0 0 8px rgba(245,158,11,.55); } to { box-shadow:0 0 0 2px rgba(36,99,235,.25); } }
@keyframes enter-again { from { box-shadow:0 0 0 8px rgba(245,158,11,.55); } to { box-shadow:0 0 0 2px rgba(36,99,235,.25); } }
.state.compound[data-active="true"] { background:rgba(232,240,255,.55); }
.state.root[data-active="true"] { background:transparent; box-shadow:none; border-color:#9aa4b2; }
.state.initial::before { content:""; position:absolute; left:-14px; top:14px; width:8px; height:8px; border-radius:50%; background:#4b5563; }
.state-final { border-width:3px; border-style:double; }
.edge { fill:none; stroke:#8a94a3; stroke-width:1.4; }
.edge.delayed { stroke-dasharray:5 3; }
.arrowhead { fill:#8a94a3; }
.edge.last { stroke:var(--taken); stroke-width:2; }
.edge.taken { stroke:var(--taken); stroke-width:3; stroke-dasharray:8 4; animation:dash .6s linear infinite; }
@keyframes dash { to { stroke-dashoffset:-24; } }
.edge-label { position:absolute; font-size:11.5px; white-space:nowrap; padding:1px 4px; background:rgba(246,247,249,.92); border-radius:3px; color:#374151; }
.edge-label.delayed { color:#7c3aed; }
.edge-label.last { background:#fef3c7; }
.edge-label.taken { background:var(--taken); color:#fff; animation:pop .5s ease-out; }
@keyframes pop { from { transform:scale(1.25); } to { transform:scale(1); } }
.countdown { position:absolute; font:600 11.5px ui-monospace, monospace; color:#fff; background:#7c3aed; padding:1px 6px; border-radius:9px; white-space:nowrap; z-index:3; }
.countdown.frozen { background:#a78bfa; }
.timeline { display:flex; align-items:center; gap:6px; padding:6px 10px; border-top:1px solid var(--line); background:var(--panel); }
.timeline-range { flex:1; }
.timeline-label { font-size:12px; color:var(--muted); min-width:260px; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.live-button[data-live="true"] { background:var(--accent); color:#fff; border-color:var(--accent); }
.details dl { display:grid; grid-template-columns:60px 1fr; gap:2px 8px; margin:0; }
.details dt { color:var(--muted); }
.details dd { margin:0; font-family:ui-monospace, monospace; word-break:break-all; }
pre.json { margin:0; padding:6px; background:#f3f4f6; border-radius:4px; font-size:11.5px; max-height:220px; overflow:auto; white-space:pre-wrap; word-break:break-all; }
.pending-list { margin:0; padding-left:16px; }
.pending-list strong { color:#7c3aed; font-family:ui-monospace, monospace; }
.send-event { padding:0 10px 10px; }
.send-form { display:grid; grid-template-columns:1fr auto; gap:4px; }
.send-type { min-width:0; font-family:ui-monospace, monospace; }
.send-payload { grid-column:1 / 3; font:12px ui-monospace, monospace; padding:4px; border:1px solid var(--line); border-radius:4px; background:var(--panel); color:var(--text); resize:vertical; }
.send-form button { grid-row:1; grid-column:2; }
.send-result { margin-top:4px; font-size:12px; }
.send-result[data-send-result="ok"] { color:var(--ok); }
.send-result[data-send-result="refused"] { color:var(--bad); }
.stately { margin-top:12px; display:flex; flex-wrap:wrap; gap:6px; align-items:center; }
.log { flex:1; display:flex; flex-direction:column; min-height:0; min-width:0; padding-bottom:0; }
.log-toolbar { display:flex; align-items:center; gap:8px; margin-bottom:4px; }
.log-toolbar h2 { margin:0; }
.log-search { flex:0 1 340px; }
.log-viewport { position:relative; flex:1; overflow:auto; min-height:0; font-family:ui-monospace, monospace; font-size:12px; }
.log-spacer { width:1px; }
.log-rows { position:absolute; left:0; right:0; top:0; }
.log-row { position:absolute; left:0; right:0; height:22px; display:grid; grid-template-columns:100px 130px 260px 200px 130px 1fr; gap:8px; padding:0 8px; align-items:center; white-space:nowrap; cursor:pointer; }
.log-row span { overflow:hidden; text-overflow:ellipsis; }
.log-row:hover { background:#f1f3f6; }
.log-row.mine .c-actor { color:var(--accent); }
.log-row.current { background:#fef3c7; }
.log-header { position:static; font-family:system-ui, sans-serif; color:var(--muted); font-size:11px; border-bottom:1px solid var(--line); cursor:default; }
.c-reason { color:#b45309; }
.c-context { color:var(--muted); }
.demo { border-bottom:1px solid var(--line); }
.demo-form { display:flex; gap:4px; flex-wrap:wrap; margin-bottom:6px; }
.demo-form input { width:110px; }
.demo-client { border:1px solid var(--line); border-radius:6px; padding:6px; margin-bottom:6px; }
.demo-client-head { display:flex; justify-content:space-between; align-items:center; gap:6px; }
.client-state { font:600 11.5px ui-monospace, monospace; padding:1px 6px; border-radius:9px; background:#e5e7eb; }
.client-state[data-state="CONNECTED"] { background:#dcfce7; color:#166534; }
.client-state[data-state="RECONNECTING"], .client-state[data-state="CONNECTING"] { background:#fef3c7; color:#92400e; }
.client-state[data-state="ABORTED"] { background:#fee2e2; color:#991b1b; }
.demo-actions { display:flex; flex-wrap:wrap; gap:3px; margin:4px 0; }
.demo-actions button { padding:1px 6px; font-size:12px; }
.demo-actions button[data-cut="true"] { background:#fee2e2; border-color:var(--bad); }
.demo-log { max-height:90px; overflow:auto; font:11px/1.35 ui-monospace, monospace; background:#f9fafb; padding:3px; margin:0; list-style:none; }
.demo-log li.error { color:var(--bad); }
/* Dark mode (issue 15.5): the same colours by role, from the system setting. */
@media (prefers-color-scheme: dark) {
  :root { color-scheme:dark; --bg:#0f141b; --panel:#161c25; --line:#2c3542; --text:#e3e8ef; --muted:#8d97a5; --accent:#6d9eff; --active:#1c2d4d; --active-line:#6d9eff; }
  .state { background:#1b222d; border-color:#4b5565; }
  .state.compound { background:rgba(27,34,45,.6); }
  .state.compound[data-active="true"] { background:rgba(28,45,77,.55); }
  .state.root[data-active="true"] { border-color:#4b5565; }
  .state.initial::before { background:#9aa4b2; }
  .edge { stroke:#7b8696; } .arrowhead { fill:#7b8696; }
  .edge-label { background:rgba(15,20,27,.92); color:#cdd5df; }
  .edge-label.delayed { color:#b79cff; }
  .edge-label.last { background:#4a3a10; }
  .actor-list li:hover, .log-row:hover { background:#1f2733; }
  .log-row.current { background:#3b3210; }
  .c-reason { color:#f0b35a; }
  pre.json, .demo-log { background:#10161e; }
  .client-state, .stale-badge { background:#2c3542; color:#e3e8ef; }
  .client-state[data-state="CONNECTED"] { background:#143d25; color:#a7f3c4; }
  .client-state[data-state="RECONNECTING"], .client-state[data-state="CONNECTING"] { background:#45350c; color:#fde68a; }
  .client-state[data-state="ABORTED"] { background:#4a1717; color:#fecaca; }
}
`;

export function renderPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtm-statechart inspector</title>
<link rel="icon" href="data:,">
<style>${styles}</style>
</head>
<body>
<div id="app"><p style="padding:16px">Loading the inspector…</p></div>
<script type="module" src="/inspector/app.js"></script>
</body>
</html>`;
}

/**
 * Shown instead of the page when an access token is needed and none came with the request.
 * The token is posted in the body (never put in a URL, so it stays out of logs and history)
 * and exchanged for an HttpOnly cookie.
 */
export function renderSignInPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>rtm-statechart inspector: sign in</title>
<link rel="icon" href="data:,">
</head>
<body style="font-family:system-ui, sans-serif; padding:24px">
<h1 style="font-size:18px">rtm-statechart inspector</h1>
<p>This inspector needs its access token.</p>
<form method="post" action="/inspector/session">
<label>Access token <input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">Open</button>
</form>
</body>
</html>`;
}
