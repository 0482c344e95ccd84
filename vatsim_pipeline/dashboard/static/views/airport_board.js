// Airport board: an airport's departures and arrivals per 30 minutes over the last 2
// hours, and the forecast of the next 2 hours. The airport is the busiest of the flights
// on the map until the user types another ICAO code.
// Data: /api/traffic/airports/{icao} and /api/forecast/airports/{icao}.

import { COLORS, timeChart } from "../lib/chart.js";

const HALF_HOUR_MS = 1800000;
const HISTORY_MS = 2 * 3600 * 1000;

const TEMPLATE = `
<div class="controls">
  <label>airport <input class="icao" size="6" maxlength="8" list="airport-board-ids" aria-label="airport ICAO"></label>
  <datalist id="airport-board-ids"></datalist>
  <span class="note totals"></span>
</div>
<canvas class="chart board" aria-label="departures and arrivals"></canvas>
<table class="board"><thead><tr><th>UTC</th><th>departures</th><th>arrivals</th><th></th></tr></thead><tbody></tbody></table>`;

/** 15-minute buckets summed into half hours: [[start ms, departures, arrivals], ...]. */
function halfHours(buckets, departures, arrivals) {
  const sums = new Map();
  buckets.forEach((start, i) => {
    const key = Math.floor(start / HALF_HOUR_MS) * HALF_HOUR_MS;
    const [d, a] = sums.get(key) || [0, 0];
    sums.set(key, [d + departures[i], a + arrivals[i]]);
  });
  return [...sums.entries()].sort((x, y) => x[0] - y[0]).map(([t, [d, a]]) => [t, d, a]);
}

const round = (value) => Math.round(value * 10) / 10;

export async function mount(section, ctx) {
  section.insertAdjacentHTML("beforeend", TEMPLATE);
  const input = section.querySelector("input.icao");
  const ids = section.querySelector("datalist");
  const totals = section.querySelector(".totals");
  const canvas = section.querySelector("canvas.board");
  const body = section.querySelector("tbody");
  let chosen = null;
  let busiest = null;

  input.addEventListener("change", () => {
    chosen = input.value.trim().toUpperCase() || null;
    refresh().catch((error) => {
      totals.textContent = error.message;
    });
  });
  ctx.bus.addEventListener("airports", (event) => {
    ids.innerHTML = event.detail.slice(0, 50).map(([icao]) => `<option value="${icao}">`).join("");
    busiest = event.detail.length ? event.detail[0][0] : null;
  });

  async function refresh() {
    const icao = chosen || busiest;
    if (!icao) {
      totals.textContent = "No flight has filed a plan yet.";
      return;
    }
    input.value = icao;
    const live = ctx.moment === null;
    const until = live ? null : new Date(ctx.moment).toISOString();
    const since = live ? "2h" : new Date(ctx.moment - HISTORY_MS).toISOString();
    const [traffic, forecast] = await Promise.all([
      ctx.api(`/api/traffic/airports/${icao}`, { since, until, bucket: "15m" }),
      live ? ctx.api(`/api/forecast/airports/${icao}`) : Promise.resolve(null),
    ]);
    const time = (iso) => Date.parse(iso);
    const past = halfHours(
      traffic.items.map((b) => time(b.bucket_start)),
      traffic.items.map((b) => b.departures),
      traffic.items.map((b) => b.arrivals),
    );
    const ahead = forecast
      ? halfHours(
          forecast.departures.map((b) => time(b.bucket_start)),
          forecast.departures.map((b) => b.expected),
          forecast.arrivals.map((b) => b.expected),
        )
      : [];
    timeChart(canvas, {
      series: [
        { color: COLORS.line, points: past.map(([t, d]) => [t, d]) },
        { color: COLORS.second, points: past.map(([t, , a]) => [t, a]) },
        { color: COLORS.line, points: ahead.map(([t, d]) => [t, d]), dash: [4, 3] },
        { color: COLORS.second, points: ahead.map(([t, , a]) => [t, a]), dash: [4, 3] },
      ],
    });
    const row = ([t, d, a], kind) =>
      `<tr class="${kind}"><td>${new Date(t).toISOString().slice(11, 16)}</td><td>${round(d)}</td><td>${round(a)}</td><td>${kind === "forecast" ? "forecast" : ""}</td></tr>`;
    body.innerHTML = past.map((r) => row(r, "actual")).join("") + ahead.map((r) => row(r, "forecast")).join("");
    totals.textContent = `${traffic.departures} departures, ${traffic.arrivals} arrivals in the window` +
      (forecast && forecast.issued_at ? `; forecast issued ${forecast.issued_at.slice(11, 16)}Z` : "");
    section.dataset.airport = icao;
    section.dataset.rows = String(past.length + ahead.length);
  }

  return { refresh };
}
