// Top routes and airports: the most flown city pairs (by detected takeoff) and the
// airports they involve, over a preset span back from the newest update: today (UTC),
// 7 days, 30 days or 12 months. A span longer than the positions' retention is refused
// by the server, and its reason shown here.
// Data: /api/routes/top.

const PRESETS = [
  ["today", "today"],
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["365d", "12 months"],
];
const SHOWN = 12;

const TEMPLATE = `
<div class="controls presets">${PRESETS.map(([value, label]) =>
  `<button type="button" data-span="${value}">${label}</button>`).join("")}
  <span class="note span"></span>
</div>
<div class="columns">
  <table class="routes pairs"><thead><tr><th>route</th><th>flights</th></tr></thead><tbody></tbody></table>
  <table class="routes airports"><thead><tr><th>airport</th><th>flights</th></tr></thead><tbody></tbody></table>
</div>`;

export async function mount(section, ctx) {
  section.insertAdjacentHTML("beforeend", TEMPLATE);
  const spanNote = section.querySelector(".span");
  const pairs = section.querySelector("table.pairs tbody");
  const airports = section.querySelector("table.airports tbody");
  let span = "today";

  for (const button of section.querySelectorAll("button[data-span]")) {
    button.addEventListener("click", () => {
      span = button.dataset.span;
      refresh().catch((error) => {
        spanNote.textContent = error.message;
        pairs.innerHTML = "";
        airports.innerHTML = "";
      });
    });
  }

  async function refresh() {
    for (const button of section.querySelectorAll("button[data-span]")) {
      button.classList.toggle("on", button.dataset.span === span);
    }
    const until = ctx.moment === null ? null : new Date(ctx.moment).toISOString();
    // "today": from 00:00 UTC of the day shown (the newest update's, while live).
    const day = (ctx.shownAt || new Date(ctx.moment ?? Date.now()).toISOString()).slice(0, 10);
    const since = span === "today" ? day : span;
    const top = await ctx.api("/api/routes/top", { since, until, limit: 1000 });
    const byAirport = new Map();
    for (const route of top.items) {
      for (const icao of [route.departure, route.arrival]) {
        byAirport.set(icao, (byAirport.get(icao) || 0) + route.flights);
      }
    }
    const rows = (items) => items.map(([name, n]) => `<tr><td>${name}</td><td class="n">${n}</td></tr>`).join("");
    pairs.innerHTML = rows(top.items.slice(0, SHOWN).map((r) => [`${r.departure} → ${r.arrival}`, r.flights]));
    airports.innerHTML = rows([...byAirport.entries()].sort((a, b) => b[1] - a[1]).slice(0, SHOWN));
    spanNote.textContent = `${top.since.slice(0, 16).replace("T", " ")}Z to ${top.until.slice(0, 16).replace("T", " ")}Z`;
    section.dataset.span = span;
    section.dataset.routes = String(top.items.length);
  }

  return { refresh };
}
