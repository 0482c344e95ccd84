// ATC coverage: the share of flight minutes under ATC by weekday and UTC hour over the
// last 7 or 30 days (all sectors, or the one typed), as a heat map.
// Data: /api/dashboard/coverage.

import { heatMap } from "../lib/chart.js";

const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

const TEMPLATE = `
<div class="controls presets">
  <button type="button" data-span="7d">7 days</button>
  <button type="button" data-span="30d">30 days</button>
  <label>sector <input class="sector" size="10" aria-label="sector id (all when empty)"></label>
</div>
<canvas class="chart coverage" aria-label="coverage by weekday and hour"></canvas>
<div class="note"></div>`;

export async function mount(section, ctx) {
  section.insertAdjacentHTML("beforeend", TEMPLATE);
  const canvas = section.querySelector("canvas.coverage");
  const note = section.querySelector(".note");
  const input = section.querySelector("input.sector");
  let span = "7d";
  const show = () => refresh().catch((error) => {
    note.textContent = error.message;
  });
  for (const button of section.querySelectorAll("button[data-span]")) {
    button.addEventListener("click", () => {
      span = button.dataset.span;
      show();
    });
  }
  input.addEventListener("change", show);

  async function refresh() {
    for (const button of section.querySelectorAll("button[data-span]")) {
      button.classList.toggle("on", button.dataset.span === span);
    }
    const until = ctx.moment === null ? null : new Date(ctx.moment).toISOString();
    const sector = input.value.trim() || null;
    const week = await ctx.api("/api/dashboard/coverage", { since: span, until, sector });
    heatMap(canvas, week.share, DAYS, 1);
    const flown = week.flight_minutes.flat().reduce((a, b) => a + b, 0);
    note.textContent = `${sector || "all sectors"}: share of ${Math.round(flown).toLocaleString("en")} flight minutes under ATC, by weekday and UTC hour`;
    section.dataset.span = span;
  }

  return { refresh };
}
