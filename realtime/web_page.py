"""The page `realtime.web.WebServer` serves at `/`: the annotated stream, and a label, state,
a bar per class, fps, latency and dropped frames, updated from `/events`.

`render_page` fills in the model's class names and the query (token) the page's own
requests must carry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence


def render_page(classes: Sequence[str], query: str) -> str:
    """The page's HTML for `classes`, its requests carrying `query` ("" or "?token=...")."""
    return _PAGE.replace("__CLASSES__", json.dumps(list(classes))).replace(
        "__QUERY__", json.dumps(query)
    )


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PosEmotion live</title>
<style>
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
</style></head>
<body><main>
 <img id="video" alt="live view" src="">
 <section id="panel">
  <p id="label">waiting</p><div id="state">connecting...</div>
  <div id="bars"></div><div id="people"></div><div id="stats"></div>
 </section>
</main>
<script>
const classes = __CLASSES__, query = __QUERY__;
document.getElementById("video").src = "stream.mjpg" + query;
const bars = document.getElementById("bars"), fills = {};
for (const c of classes) {
  const row = document.createElement("div"); row.className = "row";
  const name = document.createElement("span"); name.className = "name"; name.textContent = c;
  const bar = document.createElement("div"); bar.className = "bar";
  const fill = document.createElement("div"); fill.className = "fill";
  bar.appendChild(fill); row.append(name, bar); bars.appendChild(row); fills[c] = fill;
}
const source = new EventSource("events" + query);
source.onmessage = (event) => {
  const r = JSON.parse(event.data), p = r.probabilities || {};
  document.getElementById("label").textContent =
    r.label ? `${r.label} ${Math.round(100 * p[r.label])}%` : r.state;
  document.getElementById("state").textContent = `state: ${r.state}`;
  for (const c of classes) {
    fills[c].style.width = `${100 * (p[c] || 0)}%`;
    fills[c].classList.toggle("shown", c === r.label);
  }
  document.getElementById("people").replaceChildren(...(r.people || []).map((q) => {
    const d = document.createElement("div");
    d.textContent = `#${q.id}: ${q.label || q.state}`; return d;
  }));
  document.getElementById("stats").textContent =
    `${r.fps.toFixed(1)} fps, latency ${r.latency_ms.toFixed(0)} ms, dropped ${r.dropped}`;
};
source.onerror = () => { document.getElementById("state").textContent = "disconnected"; };
</script></body></html>
"""
