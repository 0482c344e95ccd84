// Active anomalies, newest first: emergency squawks, teleports, frozen connections,
// duplicate callsigns, altitude jumps, a stale feed. In playback, those of the hour
// before the moment. Click one with a flight to show that flight on the map.
// Data: /api/anomalies.

const HOUR_MS = 3600000;

const TEMPLATE = `
<table class="routes anomalies"><thead><tr><th>since (UTC)</th><th>kind</th><th>callsign</th><th>trigger</th></tr></thead><tbody></tbody></table>
<div class="note"></div>`;

const words = (kind) => kind.replaceAll("_", " ");
const trigger = (values) => Object.entries(values || {}).slice(0, 3).map(([k, v]) => `${k} ${v}`).join(", ");

export async function mount(section, ctx) {
  section.insertAdjacentHTML("beforeend", TEMPLATE);
  const body = section.querySelector("tbody");
  const note = section.querySelector(".note");

  async function refresh() {
    const live = ctx.moment === null;
    const params = live
      ? { active: true, limit: 50 }
      : { since: new Date(ctx.moment - HOUR_MS).toISOString(), until: new Date(ctx.moment).toISOString(), limit: 50 };
    const page = await ctx.api("/api/anomalies", params);
    body.innerHTML = page.items.map((a) => `
      <tr data-flight="${a.flight_id ?? ""}" class="${a.flight_id ? "pick" : ""}">
        <td>${a.started_at.slice(11, 16)}</td><td>${words(a.kind)}</td>
        <td>${a.callsign ?? "–"}</td><td>${trigger(a.trigger)}</td></tr>`).join("");
    for (const row of body.querySelectorAll("tr.pick")) {
      row.addEventListener("click", () =>
        ctx.bus.dispatchEvent(new CustomEvent("flight", { detail: Number(row.dataset.flight) })));
    }
    note.textContent = page.total
      ? `${page.total} ${live ? "active" : "in the hour before the moment"}${page.total > page.items.length ? `, newest ${page.items.length} shown` : ""}`
      : live ? "No active anomaly." : "No anomaly in the hour before the moment.";
    section.dataset.anomalies = String(page.items.length);
  }

  return { refresh };
}
