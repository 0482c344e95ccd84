// The dashboard's shell: loads the registered views (listed by the server in
// #views), gives them one shared clock (live, or a moment of playback) and refreshes
// them every feed period. A view is one module exporting `mount(section, ctx)`, which
// returns an object with `refresh()` (called on every tick and moment change).

const FEED_PERIOD_MS = 15000;

const clockEl = document.getElementById("clock");
const statusEl = document.getElementById("status");
const root = document.getElementById("views-root");
const registered = JSON.parse(document.getElementById("views").textContent);

/** GET a JSON route of the API; a refusal becomes an Error carrying its reason. */
async function api(path, params = {}) {
  const query = new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== null && v !== undefined && v !== ""),
  );
  const url = query.toString() ? `${path}?${query}` : path;
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

const bus = new EventTarget();
const ctx = {
  api,
  bus,
  /** null while live; else the playback moment in epoch milliseconds. */
  moment: null,
  /** The time the shown data belongs to (newest update while live), for labels. */
  shownAt: null,
  /** Move every view to a moment (null: back to live). */
  async setMoment(moment) {
    ctx.moment = moment;
    await refreshAll();
  },
  /** Views report the time their data belongs to. */
  showTime(iso) {
    ctx.shownAt = iso;
    clockEl.dataset.live = String(ctx.moment === null);
    clockEl.textContent = iso ? `${iso.slice(0, 16).replace("T", " ")}Z` : "no data yet";
  },
};

const instances = [];
let refreshing = null;

/** The first view (the map), then every other one at once: they may use what the map
 * published on the bus (traffic per sector, busiest airports). A failing view does not
 * stop the others. */
async function refreshViews() {
  const [first, ...rest] = instances;
  const results = [await Promise.allSettled([first.refresh()])];
  results.push(await Promise.allSettled(rest.map((view) => view.refresh())));
  return results.flat().filter((r) => r.status === "rejected").map((r) => r.reason.message);
}

async function refreshAll() {
  // One refresh at a time; a tick arriving during one waits for it.
  if (refreshing) await refreshing;
  const started = performance.now();
  refreshing = refreshViews();
  const failed = await refreshing;
  refreshing = null;
  statusEl.textContent = failed.length ? `update failed: ${failed[0]}` : "";
  window.dashboard.lastRefreshMs = performance.now() - started;
  window.dashboard.refreshes += 1;
  document.body.dataset.refreshes = String(window.dashboard.refreshes);
}

window.dashboard = { refreshes: 0, refresh: refreshAll, ctx };

async function start() {
  // Every view's module loads at once; they mount in registry order.
  const modules = await Promise.all(registered.map((view) => import(view.script)));
  for (const [index, view] of registered.entries()) {
    const section = document.createElement("section");
    section.className = `view ${view.wide ? "wide" : ""}`;
    section.id = `view-${view.id}`;
    section.dataset.view = view.id;
    if (!view.wide) {
      const title = document.createElement("h2");
      title.textContent = view.title;
      section.append(title);
    }
    root.append(section);
    instances.push(await modules[index].mount(section, ctx));
  }
  await refreshAll();
  window.dashboard.firstRenderMs = performance.now();
  document.body.dataset.ready = "true";
  setInterval(() => {
    if (ctx.moment === null && !document.hidden) refreshAll();
  }, FEED_PERIOD_MS);
}

start().catch((error) => {
  statusEl.textContent = `dashboard failed to start: ${error.message}`;
  throw error;
});
