"""The page `realtime.web.WebServer` serves at `/`: the annotated stream, and a label, state,
a bar per class, fps, latency and dropped frames, updated from `/events`.

The page holds no script and no style of its own: they are served as `/page.js` and
`/page.css` (fixed text, nothing filled in), so the Content-Security-Policy (`CSP`, sent with
every response) allows scripts only from the server itself and a model's class names can
never become code. The data the script needs (the class names, and the query carrying the
token) are HTML-escaped `data-` attributes of the page's body, read as text by the script.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

# every response's policy: no inline script or style, nothing from elsewhere, no framing
CSP: Final[str] = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def token_query(token: str | None) -> str:
    """`?token=...` (URL-encoded) for the page's own requests, or "" without a token."""
    return "?" + urlencode({"token": token}) if token else ""


def render_page(classes: Sequence[str], query: str) -> str:
    """The page's HTML for `classes`, its requests carrying `query` ("" or "?token=...").

    Both go into attributes only, escaped for that context (`html.escape`), never into a
    script."""
    values = {
        "CLASSES": json.dumps(list(classes)),
        "QUERY_JSON": json.dumps(query),
        "QUERY": query,
    }  # one pass: a class name that looks like a placeholder stays text
    return re.sub(r"__([A-Z_]+?)__", lambda m: html.escape(values[m[1]], quote=True), _PAGE)


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PosEmotion live</title>
<link rel="stylesheet" href="page.css__QUERY__">
<script src="page.js__QUERY__" defer></script>
</head>
<body data-classes="__CLASSES__" data-query="__QUERY_JSON__"><main>
 <img id="video" alt="live view" src="stream.mjpg__QUERY__">
 <section id="panel">
  <p id="label">waiting</p><div id="state">connecting...</div>
  <div id="bars"></div><div id="people"></div><div id="stats"></div>
 </section>
</main></body></html>
"""

STYLE: Final[str] = """
body { margin: 0; background: #111; color: #eee; font: 15px system-ui, sans-serif; }
main { display: flex; flex-wrap: wrap; gap: 16px; padding: 16px; align-items: flex-start; }
#video { max-width: 100%; max-height: 90vh; background: #000; }
#panel { min-width: 260px; }
#label { font-size: 28px; font-weight: 600; margin: 0 0 4px; }
#state { color: #aaa; margin-bottom: 12px; }
.row { display: flex; align-items: center; gap: 8px; margin: 4px 0; }
.name { width: 80px; } .bar { flex: 1; height: 14px; border: 1px solid #777; }
.fill { height: 100%; width: 0; background: #5aa0c8; } .fill.shown { background: #ffc800; }
#stats { color: #aaa; margin-top: 12px; font-variant-numeric: tabular-nums; }
#people div { margin: 2px 0; color: #ccc; }
"""

SCRIPT: Final[str] = """"use strict";
const classes = JSON.parse(document.body.dataset.classes);
const query = JSON.parse(document.body.dataset.query);
const own = (o, k) => (o && Object.prototype.hasOwnProperty.call(o, k) ? o[k] : undefined);
const bars = document.getElementById("bars"), fills = new Map();
for (const c of classes) {
  const row = document.createElement("div"); row.className = "row";
  const name = document.createElement("span"); name.className = "name"; name.textContent = c;
  const bar = document.createElement("div"); bar.className = "bar";
  const fill = document.createElement("div"); fill.className = "fill";
  bar.appendChild(fill); row.append(name, bar); bars.appendChild(row); fills.set(c, fill);
}
const source = new EventSource("events" + query);
source.onmessage = (event) => {
  const r = JSON.parse(event.data), p = r.probabilities || {};
  document.getElementById("label").textContent =
    r.label ? `${r.label} ${Math.round(100 * (own(p, r.label) || 0))}%` : r.state;
  document.getElementById("state").textContent = `state: ${r.state}`;
  for (const [c, fill] of fills) {
    fill.style.width = `${100 * (own(p, c) || 0)}%`;
    fill.classList.toggle("shown", c === r.label);
  }
  document.getElementById("people").replaceChildren(...(r.people || []).map((q) => {
    const d = document.createElement("div");
    d.textContent = `#${q.id}: ${q.label || q.state}`; return d;
  }));
  document.getElementById("stats").textContent =
    `${r.fps.toFixed(1)} fps, latency ${r.latency_ms.toFixed(0)} ms, dropped ${r.dropped}`;
};
source.onerror = () => { document.getElementById("state").textContent = "disconnected"; };
"""
