// report.html: one self-contained page (inline SVG and CSS, no script, no network) with the AUC
// and LogLoss curves per evaluated round, the best round's figures and the run's settings.
import type { TrainReport } from "./trainer.js";

interface Series {
  name: string;
  color: string;
  dash?: boolean;
  points: [number, number][];
}

const W = 560;
const H = 300;
const PAD = { left: 56, right: 16, top: 28, bottom: 40 };

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** About `count` round-number ticks covering [lo, hi]. */
function ticks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

function fmt(v: number | null | undefined, digits = 4): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

function chart(title: string, series: Series[], bestRound: number | null): string {
  const pts = series.flatMap((s) => s.points);
  if (pts.length === 0) return `<figure><figcaption>${esc(title)}</figcaption><p class="none">no evaluated round yet</p></figure>`;
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  const margin = (y1 - y0) * 0.08 || Math.abs(y0) * 0.05 || 0.05;
  [y0, y1] = [y0 - margin, y1 + margin];
  const sx = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (W - PAD.left - PAD.right);
  const sy = (y: number) => H - PAD.bottom - ((y - y0) / (y1 - y0)) * (H - PAD.top - PAD.bottom);
  const parts: string[] = [];
  for (const t of ticks(y0, y1, 5)) {
    parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${sy(t)}" y2="${sy(t)}" class="grid"/>`);
    parts.push(`<text x="${PAD.left - 6}" y="${sy(t) + 4}" text-anchor="end">${t}</text>`);
  }
  for (const t of ticks(x0, x1, 8).filter(Number.isInteger)) {
    parts.push(`<text x="${sx(t)}" y="${H - PAD.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  parts.push(`<text x="${(PAD.left + W - PAD.right) / 2}" y="${H - 6}" text-anchor="middle">round</text>`);
  parts.push(`<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}" class="axis"/>`);
  if (bestRound !== null) {
    parts.push(`<line x1="${sx(bestRound)}" x2="${sx(bestRound)}" y1="${PAD.top}" y2="${H - PAD.bottom}" class="best"/>`);
    parts.push(`<text x="${sx(bestRound) + 4}" y="${PAD.top + 10}" class="best-label">best</text>`);
  }
  series.forEach((s, i) => {
    const d = s.points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    parts.push(`<path d="${d}" stroke="${s.color}" ${s.dash ? 'stroke-dasharray="6 4"' : ""} class="line"/>`);
    if (s.points.length <= 60) for (const [x, y] of s.points) parts.push(`<circle cx="${sx(x)}" cy="${sy(y)}" r="2.5" fill="${s.color}"/>`);
    const lx = PAD.left + 8 + i * 120;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${PAD.top - 12}" y2="${PAD.top - 12}" stroke="${s.color}" ${s.dash ? 'stroke-dasharray="6 4"' : ""} class="line"/>`);
    parts.push(`<text x="${lx + 28}" y="${PAD.top - 8}">${esc(s.name)}</text>`);
  });
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">${parts.join("")}</svg></figure>`;
}

/** Flattens nested settings into "a.b.c" rows. */
function settings(obj: unknown, prefix = ""): [string, string][] {
  if (obj === null || typeof obj !== "object" || Array.isArray(obj)) return [[prefix, JSON.stringify(obj)]];
  return Object.entries(obj as Record<string, unknown>).flatMap(([k, v]) => settings(v, prefix ? `${prefix}.${k}` : k));
}

export function renderReportHtml(r: TrainReport): string {
  const evaluated = r.rounds.filter((x) => x.val_auc !== null);
  const series = (key: "val_auc" | "test_auc" | "val_logloss" | "test_logloss"): [number, number][] =>
    evaluated.filter((x) => Number.isFinite(x[key])).map((x) => [x.round, x[key] as number]);
  const b = r.best;
  const bestRound = b ? b.round : null;
  const totalSeconds = r.rounds.reduce((s, x) => s + x.seconds, 0);
  const cards = [
    ["Test AUC (best round)", b ? `${fmt(b.test_auc)} <small>[${fmt(b.test_auc_ci[0], 3)}, ${fmt(b.test_auc_ci[1], 3)}]</small>` : "–"],
    ["Test LogLoss", fmt(b?.test_logloss)],
    ["Best validation AUC", b ? `${fmt(b.val_auc)} <small>round ${b.round}</small>` : "–"],
    ["Rounds", `${r.rounds.length} / ${r.config.rounds}${r.completed ? "" : " <small>(unfinished)</small>"}`],
    ["Seconds per round", r.rounds.length ? fmt(totalSeconds / r.rounds.length, 2) : "–"],
    ["Peak RSS", `${r.peak_rss_mb} MB`],
  ];
  const rows = r.rounds
    .map((x) => `<tr${x.round === bestRound ? ' class="hl"' : ""}><td>${x.round}</td><td>${fmt(x.seconds, 2)}</td><td>${fmt(x.train_loss)}</td><td>${fmt(x.val_auc)}</td><td>${fmt(x.val_logloss)}</td><td>${fmt(x.test_auc)}</td><td>${fmt(x.test_logloss)}</td></tr>`)
    .join("\n");
  const d = r.dataset;
  const facts: [string, string][] = [
    ["users (clients)", String(d.users)],
    ["items", String(d.items)],
    ["interactions", String(d.interactions)],
    ["skipped interactions", `${d.skipped} (${d.skipped_users} users)`],
    ["parameters shared / group / private", `${r.params.shared} / ${r.params.group} / ${r.params.private}`],
    ["workers", String(r.workers)],
    ["kernels", r.kernels],
    ...settings(r.config),
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fedfacet ${esc(r.config.regime)} — test AUC ${b ? fmt(b.test_auc) : "–"}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1180px;padding:0 16px;color:#222}
h1{font-size:20px;margin:0 0 16px}h2{font-size:16px;margin:24px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:10px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 12px}.card b{display:block;font-size:20px;font-weight:600}
.card span{color:#666;font-size:12px}small{color:#666;font-weight:normal;font-size:12px}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;flex:1 1 520px}figcaption{font-weight:600;margin-bottom:4px}
svg{width:100%;height:auto;font-size:11px;fill:#444}.grid{stroke:#eee}.axis{stroke:#999}.line{fill:none;stroke-width:2}
.best{stroke:#999;stroke-dasharray:3 3}.best-label{fill:#777}.none{color:#888}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
th{background:#f6f6f6}td:first-child,th:first-child{text-align:left}tr.hl td{background:#fff7d6}
.settings td{text-align:left;font-family:ui-monospace,monospace;font-size:12px}
</style></head><body>
<h1>fedfacet — ${esc(r.config.regime)} (${esc(r.config.model.kind)} backbone), seed ${r.config.seed}</h1>
<div class="cards">${cards.map(([k, v]) => `<div class="card"><span>${k}</span><b>${v}</b></div>`).join("")}</div>
<h2>Curves</h2>
<div class="charts">
${chart("AUC per round", [
  { name: "validation", color: "#1f77b4", points: series("val_auc") },
  { name: "test", color: "#d62728", dash: true, points: series("test_auc") },
], bestRound)}
${chart("LogLoss per round", [
  { name: "validation", color: "#1f77b4", points: series("val_logloss") },
  { name: "test", color: "#d62728", dash: true, points: series("test_logloss") },
], bestRound)}
</div>
<h2>Rounds</h2>
<details${r.rounds.length <= 30 ? " open" : ""}><summary>${r.rounds.length} rounds (best highlighted)</summary>
<table><tr><th>round</th><th>seconds</th><th>train loss</th><th>val AUC</th><th>val LogLoss</th><th>test AUC</th><th>test LogLoss</th></tr>
${rows}
</table></details>
<h2>Data and settings</h2>
<table class="settings">${facts.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join("")}</table>
</body></html>
`;
}
