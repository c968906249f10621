/** The inspector page's HTML shell; the behaviour is in inspector/page (bundled to app.js). */
export function renderPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtm-statechart inspector</title>
</head>
<body>
<div id="app">Loading…</div>
<script type="module" src="/inspector/app.js"></script>
</body>
</html>`;
}
