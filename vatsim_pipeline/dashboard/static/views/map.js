// The live map view: every flight now (or at the playback moment), the sectors with the
// staffed ones shaded and traffic per sector, a flight's track and its altitude and
// ground-speed profile on click, and the playback slider over a stored day.
// Data: /api/dashboard/map/{flights,status,sectors} and /api/flights/{id}/track.

import { COLORS, timeChart } from "../lib/chart.js";
import { ALTITUDE_RAMP, GROUND_COLOR, MapCanvas } from "./map_canvas.js";

const DAY_MS = 86400000;
const STEP_S = 15;

const TEMPLATE = `
<div class="map-layout">
  <div class="map-stage">
    <canvas class="base"></canvas>
    <canvas class="top" aria-label="map of flights"></canvas>
    <div class="counts"></div>
    <div class="tooltip"></div>
    <div class="legend">
      <div>Altitude</div>
      <div class="ramp" style="background: ${ALTITUDE_RAMP}"></div>
      <div class="scale"><span>0</span><span>FL150</span><span>FL300</span><span>FL450</span></div>
      <div style="margin-top:4px">
        <span class="key" style="background:${GROUND_COLOR};margin-left:0"></span>on ground
        <span class="key" style="background:rgba(61,220,151,.5);border:1px solid #3ddc97"></span>staffed
        <span class="key" style="background:rgba(76,201,240,.35)"></span>traffic
      </div>
    </div>
  </div>
  <aside class="side"><p class="empty">Click a flight for its track and profile.</p></aside>
</div>
<div class="playback">
  <select class="day" aria-label="day"></select>
  <input class="slider" type="range" aria-label="playback time" step="${STEP_S}">
  <output class="at"></output>
  <button class="live" type="button">Live</button>
</div>`;

const iso = (ms) => new Date(ms).toISOString().replace(".000Z", "Z");
const label = (ms) => `${iso(ms).slice(0, 19).replace("T", " ")}Z`;
const number = (v, unit = "") => (v === null || v === undefined ? "–" : `${v.toLocaleString("en")}${unit}`);

/** Airports by the flights filed from or to them, most first: [[icao, flights], ...]. */
function busiestAirports(flights) {
  const departure = flights.columns.indexOf("departure");
  const arrival = flights.columns.indexOf("arrival");
  const counts = new Map();
  for (const row of flights.rows) {
    for (const icao of [row[departure], row[arrival]]) {
      if (icao) counts.set(icao, (counts.get(icao) || 0) + 1);
    }
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1]);
}

export async function mount(section, ctx) {
  section.innerHTML = TEMPLATE;
  const stage = section.querySelector(".map-stage");
  const top = section.querySelector("canvas.top");
  const map = new MapCanvas(stage, section.querySelector("canvas.base"), top);
  const counts = section.querySelector(".counts");
  const tooltip = section.querySelector(".tooltip");
  const side = section.querySelector(".side");
  const daySelect = section.querySelector(".day");
  const slider = section.querySelector(".slider");
  const output = section.querySelector(".at");
  const liveButton = section.querySelector(".live");
  let sectorsTag = null;
  let range = null;
  let selected = null;
  let staffed = {};

  // The base map loads beside the first data request; the first refresh waits for it.
  const landReady = fetch("/api/dashboard/map/land")
    .then((response) => response.text())
    .then((land) => map.setLand(land));
  // So do the sector boundaries; later refreshes fetch them again only when the stored
  // set changes (`sectors_tag` of the status).
  let sectorsReady = ctx.api("/api/dashboard/map/sectors").then((shapes) => map.setSectors(shapes));
  map.resize();
  new ResizeObserver(() => map.resize()).observe(stage);
  // The view lives in the address (#map=zoom/lat/lon), so that a link shows the same.
  const place = /map=([\d.]+)\/(-?[\d.]+)\/(-?[\d.]+)/.exec(location.hash);
  if (place) map.setCenter(Number(place[3]), Number(place[2]), Number(place[1]));
  map.onMove = () => {
    const [lon, lat, zoom] = map.center();
    history.replaceState(null, "", `#map=${zoom.toFixed(2)}/${lat.toFixed(3)}/${lon.toFixed(3)}`);
  };

  // --- pan, zoom, hover, click -------------------------------------------------------
  let drag = null;
  top.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = top.getBoundingClientRect();
    map.zoomAt(event.clientX - box.left, event.clientY - box.top, Math.exp(-event.deltaY * 0.0015));
  }, { passive: false });
  top.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, moved: 0 };
    top.setPointerCapture(event.pointerId);
  });
  top.addEventListener("pointermove", (event) => {
    const box = top.getBoundingClientRect();
    if (drag) {
      const dx = event.clientX - drag.x;
      const dy = event.clientY - drag.y;
      drag.moved += Math.abs(dx) + Math.abs(dy);
      drag.x = event.clientX;
      drag.y = event.clientY;
      map.panBy(dx, dy);
      return;
    }
    const row = map.flightAt(event.clientX - box.left, event.clientY - box.top);
    if (!row) {
      tooltip.style.display = "none";
      return;
    }
    const c = map.col;
    tooltip.textContent = `${row[c.callsign]} ${row[c.aircraft] || ""}  ${row[c.departure] || "?"}→${row[c.arrival] || "?"}  ${number(row[c.altitude], " ft")}  ${number(row[c.groundspeed], " kt")}`;
    tooltip.style.left = `${event.clientX - box.left + 12}px`;
    tooltip.style.top = `${event.clientY - box.top + 12}px`;
    tooltip.style.display = "block";
  });
  top.addEventListener("pointerup", (event) => {
    const click = drag && drag.moved < 4;
    drag = null;
    if (!click) return;
    const box = top.getBoundingClientRect();
    const row = map.flightAt(event.clientX - box.left, event.clientY - box.top);
    select(row ? row[map.col.id] : null);
  });
  top.addEventListener("pointerleave", () => {
    tooltip.style.display = "none";
  });
  top.addEventListener("dblclick", (event) => {
    const box = top.getBoundingClientRect();
    map.zoomAt(event.clientX - box.left, event.clientY - box.top, 2);
  });

  // --- the selected flight -----------------------------------------------------------
  function showBusiest() {
    const names = new Map(map.sectors.map((sector) => [sector.id, sector.name]));
    const busiest = [...map.density.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15);
    side.innerHTML = `
      <h2>Busiest sectors</h2>
      <table class="busiest">
        <tr><th>sector</th><th>flights</th><th>staffed by</th></tr>
        ${busiest.map(([id, count]) => `<tr data-sector="${id}"><td title="${names.get(id) || ""}">${id.replace(/^TRACON:/, "")}</td>
          <td>${count}</td><td>${(staffed[id] || []).join(", ") || "–"}</td></tr>`).join("")}
      </table>
      <p class="empty">Click a flight for its track and profile, a sector for its load.</p>`;
    side.dataset.flight = "";
    for (const row of side.querySelectorAll("tr[data-sector]")) {
      row.addEventListener("click", () =>
        ctx.bus.dispatchEvent(new CustomEvent("sector", { detail: row.dataset.sector })));
    }
  }

  async function showFlight() {
    if (selected === null) {
      map.setTrack(null);
      showBusiest();
      return;
    }
    const track = await ctx.api(`/api/flights/${selected}/track`);
    const shownAt = ctx.moment === null ? Infinity : ctx.moment;
    const positions = track.positions.filter((p) => Date.parse(p.observed_at) <= shownAt);
    map.setTrack(positions);
    const f = track.flight;
    const last = positions[positions.length - 1] || {};
    side.innerHTML = `
      <h3>${f.callsign}</h3>
      <div class="route">${f.departure || "?"} → ${f.arrival || "?"} · ${f.aircraft_short || "unknown type"}</div>
      <dl>
        <dt>Altitude</dt><dd>${number(last.altitude, " ft")}</dd>
        <dt>Ground speed</dt><dd>${number(last.groundspeed, " kt")}</dd>
        <dt>Heading</dt><dd>${number(last.heading, "°")}</dd>
        <dt>Positions</dt><dd>${positions.length}</dd>
        <dt>Logon</dt><dd>${label(Date.parse(f.logon_time))}</dd>
      </dl>
      <h2>Altitude (ft)</h2><canvas class="chart altitude"></canvas>
      <h2>Ground speed (kt)</h2><canvas class="chart groundspeed"></canvas>
      <button class="close" type="button">Close</button>`;
    side.dataset.flight = String(f.id);
    const series = (field, color) => [{ color, points: positions.map((p) => [Date.parse(p.observed_at), p[field]]) }];
    timeChart(side.querySelector(".altitude"), { series: series("altitude", COLORS.second) });
    timeChart(side.querySelector(".groundspeed"), { series: series("groundspeed", COLORS.line) });
    side.querySelector(".close").addEventListener("click", () => select(null));
  }

  async function select(id) {
    selected = id;
    map.selected = id;
    try {
      await showFlight();
    } finally {
      map.drawTop();
    }
  }

  ctx.bus.addEventListener("flight", (event) => select(event.detail));

  // --- playback ------------------------------------------------------------------------
  function spans() {
    const oldest = Date.parse(range.oldest);
    const newest = Date.parse(range.newest);
    const days = [];
    for (let day = Math.floor(newest / DAY_MS) * DAY_MS; day >= Math.floor(oldest / DAY_MS) * DAY_MS && days.length < 400; day -= DAY_MS) days.push(day);
    return { oldest, newest, days };
  }

  function fillDays() {
    const { days } = spans();
    const chosen = daySelect.value;
    daySelect.innerHTML = '<option value="">last 24 hours</option>' +
      days.map((d) => `<option value="${d}">${iso(d).slice(0, 10)}</option>`).join("");
    daySelect.value = [...daySelect.options].some((o) => o.value === chosen) ? chosen : "";
  }

  function setSliderBounds() {
    const { oldest, newest } = spans();
    const day = daySelect.value ? Number(daySelect.value) : null;
    const start = Math.max(oldest, day === null ? newest - DAY_MS : day);
    const end = Math.min(newest, day === null ? newest : day + DAY_MS - 1000);
    // Whole seconds, rounded up: the first stored update lies within the range.
    slider.min = String(Math.ceil(start / 1000));
    slider.max = String(Math.ceil(end / 1000));
    if (ctx.moment === null) slider.value = slider.max;
    output.textContent = ctx.moment === null ? "live" : label(ctx.moment);
  }

  let pendingMove = null;
  slider.addEventListener("input", () => {
    const ms = Number(slider.value) * 1000;
    output.textContent = label(ms);
    clearTimeout(pendingMove);
    const live = !daySelect.value && slider.value === slider.max;
    pendingMove = setTimeout(() => ctx.setMoment(live ? null : ms), 120);
  });
  daySelect.addEventListener("change", () => {
    setSliderBounds();
    const day = daySelect.value ? Number(daySelect.value) : null;
    ctx.setMoment(day === null ? null : Number(slider.min) * 1000);
  });
  liveButton.addEventListener("click", () => {
    daySelect.value = "";
    ctx.setMoment(null);
  });

  // --- refresh -----------------------------------------------------------------------
  async function refresh() {
    const at = ctx.moment === null ? null : iso(ctx.moment);
    const [flights, status] = await Promise.all([
      ctx.api("/api/dashboard/map/flights", { at }),
      ctx.api("/api/dashboard/map/status", { at }),
      landReady,
      sectorsReady,
    ]);
    if (sectorsTag !== null && status.sectors_tag !== sectorsTag) {
      sectorsReady = ctx.api("/api/dashboard/map/sectors").then((shapes) => map.setSectors(shapes));
      await sectorsReady;
    }
    sectorsTag = status.sectors_tag;
    range = status;
    map.setFlights(flights.columns, flights.rows);
    ctx.bus.dispatchEvent(new CustomEvent("density", { detail: map.density }));
    ctx.bus.dispatchEvent(new CustomEvent("airports", { detail: busiestAirports(flights) }));
    map.setStaffed(status.staffed);
    staffed = status.staffed;
    if (range.newest) {
      fillDays();
      setSliderBounds();
    }
    await showFlight().catch(() => select(null));
    map.draw();
    stage.dataset.mapTime = flights.at || "";
    stage.dataset.live = String(flights.live);
    const staffedCount = Object.keys(status.staffed).length;
    counts.textContent = `${flights.rows.length.toLocaleString("en")} flights · ${staffedCount} staffed sectors`;
    ctx.showTime(flights.at);
  }

  window.dashboard.map = map;
  return { refresh, map };
}
