// Sector load: flights entering a sector per 15 minutes over the last 6 hours, the
// forecast of the next 2 hours with its low/high band, and warning and alert thresholds
// the user sets (kept in this browser). The sector is the busiest one on the map until
// the user picks another (type its id, or click a row of the map's busiest sectors).
// Data: /api/traffic/sectors/{id} and /api/forecast/sectors/{id}.

import { COLORS, timeChart } from "../lib/chart.js";

const HISTORY_MS = 6 * 3600 * 1000;
const STORE = "vatsim-dashboard-sector-thresholds";

const TEMPLATE = `
<div class="controls">
  <label>sector <input class="sector" size="12" list="sector-load-ids" aria-label="sector id"></label>
  <datalist id="sector-load-ids"></datalist>
  <label>warning <input class="warning" type="number" min="1" step="1" style="width:4.5em"></label>
  <label>alert <input class="alert" type="number" min="1" step="1" style="width:4.5em"></label>
  <span class="state"></span>
</div>
<canvas class="chart load" aria-label="sector load"></canvas>
<div class="note"></div>`;

function thresholds() {
  try {
    return { warning: 20, alert: 30, ...JSON.parse(localStorage.getItem(STORE) || "{}") };
  } catch {
    return { warning: 20, alert: 30 };
  }
}

export async function mount(section, ctx) {
  section.insertAdjacentHTML("beforeend", TEMPLATE);
  const input = section.querySelector("input.sector");
  const ids = section.querySelector("datalist");
  const warning = section.querySelector("input.warning");
  const alert = section.querySelector("input.alert");
  const state = section.querySelector(".state");
  const canvas = section.querySelector("canvas.load");
  const note = section.querySelector(".note");
  let chosen = null;
  let busiest = null;

  const limits = thresholds();
  warning.value = limits.warning;
  alert.value = limits.alert;
  const saveLimits = () => {
    localStorage.setItem(STORE, JSON.stringify({ warning: Number(warning.value), alert: Number(alert.value) }));
    refresh();
  };
  warning.addEventListener("change", saveLimits);
  alert.addEventListener("change", saveLimits);
  input.addEventListener("change", () => {
    chosen = input.value.trim() || null;
    refresh();
  });
  ctx.bus.addEventListener("sector", (event) => {
    chosen = event.detail;
    refresh();
  });
  ctx.bus.addEventListener("density", (event) => {
    const ranked = [...event.detail.entries()].sort((a, b) => b[1] - a[1]);
    ids.innerHTML = ranked.slice(0, 50).map(([id]) => `<option value="${id}">`).join("");
    busiest = ranked.length ? ranked[0][0] : null;
  });

  async function refresh() {
    const sector = chosen || busiest;
    if (!sector) {
      note.textContent = "No flight is located in a sector yet.";
      return;
    }
    input.value = sector;
    const live = ctx.moment === null;
    const until = live ? null : new Date(ctx.moment).toISOString();
    const since = live ? "6h" : new Date(ctx.moment - HISTORY_MS).toISOString();
    const path = encodeURIComponent(sector);
    const [traffic, forecast] = await Promise.all([
      ctx.api(`/api/traffic/sectors/${path}`, { since, until, bucket: "15m" }),
      live ? ctx.api(`/api/forecast/sectors/${path}`) : Promise.resolve({ items: [] }),
    ]);
    const limitsNow = { warning: Number(warning.value), alert: Number(alert.value) };
    const time = (iso) => Date.parse(iso);
    const entries = traffic.items.map((b) => [time(b.bucket_start), b.entries]);
    const expected = forecast.items.map((b) => [time(b.bucket_start), b.expected]);
    timeChart(canvas, {
      series: [
        { color: COLORS.line, points: entries, bars: true },
        { color: COLORS.second, points: expected },
      ],
      band: { points: forecast.items.map((b) => [time(b.bucket_start), b.low, b.high]) },
      thresholds: [
        { value: limitsNow.warning, color: COLORS.warning },
        { value: limitsNow.alert, color: COLORS.alert },
      ],
    });
    const worst = Math.max(0, ...entries.slice(-1).map((p) => p[1]), ...expected.map((p) => p[1]));
    const level = worst >= limitsNow.alert ? "alert" : worst >= limitsNow.warning ? "warning" : "ok";
    state.textContent = level === "ok" ? "below thresholds" : `${level}: ${worst} flights / 15 min`;
    state.className = `state ${level}`;
    section.dataset.sector = sector;
    section.dataset.level = level;
    note.textContent = `${sector}: flights entering per 15 minutes (bars), forecast of the next 2 hours with its band (line)` +
      (forecast.issued_at ? `, issued ${forecast.issued_at.slice(11, 16)}Z.` : ".");
  }

  return { refresh };
}
