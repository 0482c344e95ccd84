// The map's drawing: a pan/zoom Web Mercator canvas pair (base: land, sectors; top:
// flights, the selected track). Everything is projected once into world units (lib/geo.js) and
// drawn through one canvas transform, so a redraw is a few batched paths.

import { WORLD, project, unproject } from "../lib/geo.js";

const GROUND_SPEED_KT = 40;
const ALTITUDE_STOPS = [
  [0, [249, 248, 113]],
  [10000, [255, 199, 95]],
  [20000, [255, 150, 113]],
  [30000, [255, 111, 145]],
  [38000, [214, 93, 177]],
  [45000, [132, 94, 194]],
];
const BUCKET_FT = 2500;
const BUCKETS = 19;
export const GROUND_COLOR = "#7d8b99";

/** Colour of an altitude (feet), interpolated between ALTITUDE_STOPS. */
export function altitudeColor(feet) {
  const alt = Math.max(0, Math.min(45000, feet || 0));
  for (let i = 1; i < ALTITUDE_STOPS.length; i += 1) {
    const [a1, c1] = ALTITUDE_STOPS[i];
    if (alt <= a1) {
      const [a0, c0] = ALTITUDE_STOPS[i - 1];
      const f = (alt - a0) / (a1 - a0);
      const c = c0.map((v, k) => Math.round(v + f * (c1[k] - v)));
      return `rgb(${c[0]},${c[1]},${c[2]})`;
    }
  }
  return "rgb(132,94,194)";
}

export const ALTITUDE_RAMP = `linear-gradient(to right, ${ALTITUDE_STOPS.map(
  ([a, c]) => `rgb(${c.join(",")}) ${(a / 45000) * 100}%`,
).join(", ")})`;

const BUCKET_COLORS = Array.from({ length: BUCKETS }, (_, i) => altitudeColor(i * BUCKET_FT + BUCKET_FT / 2));

export class MapCanvas {
  constructor(stage, baseCanvas, topCanvas) {
    this.stage = stage;
    this.base = baseCanvas;
    this.top = topCanvas;
    this.land = new Path2D();
    this.sectors = [];
    this.outlines = { fir: new Path2D(), tracon: new Path2D() };
    this.flights = { ids: [], x: new Float32Array(0), y: new Float32Array(0), rows: [] };
    this.staffed = new Set();
    this.density = new Map();
    this.track = null;
    this.selected = null;
    this.view = null;
    this.pending = false;
  }

  /** The land as SVG path data in world units. */
  setLand(pathData) {
    this.land = new Path2D(pathData);
  }

  /** Sectors as [id, kind, name, path data]; each path is parsed once (in world units,
   * so that every redraw at any pan and zoom reuses it). */
  setSectors(shapes) {
    this.sectors = shapes.map(([id, kind, name, pathData]) => ({ id, kind, name, path: new Path2D(pathData) }));
    this.outlines = { fir: new Path2D(), tracon: new Path2D() };
    for (const sector of this.sectors) {
      this.outlines[sector.kind === "tracon" ? "tracon" : "fir"].addPath(sector.path);
    }
  }

  /** Flights as compact rows (columns named by the server). */
  setFlights(columns, rows) {
    const col = Object.fromEntries(columns.map((name, i) => [name, i]));
    const x = new Float32Array(rows.length);
    const y = new Float32Array(rows.length);
    const density = new Map();
    rows.forEach((row, i) => {
      [x[i], y[i]] = project(row[col.lon], row[col.lat]);
      const sector = row[col.sector];
      if (sector) density.set(sector, (density.get(sector) || 0) + 1);
    });
    this.col = col;
    this.flights = { rows, x, y };
    this.density = density;
  }

  setStaffed(staffed) {
    this.staffed = new Set(Object.keys(staffed));
  }

  setTrack(positions) {
    this.track = positions && {
      points: positions.map((p) => project(p.lon, p.lat)),
      altitudes: positions.map((p) => p.altitude),
    };
  }

  /** Size the canvases and, the first time, fit the world's populated latitudes. */
  resize() {
    const { width, height } = this.stage.getBoundingClientRect();
    if (width === this.width && height === this.height) return;
    this.width = width;
    this.height = height;
    const ratio = window.devicePixelRatio || 1;
    for (const canvas of [this.base, this.top]) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    if (!this.view) this.fit(-168, -50, 192, 72);
    this.draw();
  }

  fit(west, south, east, north) {
    const [x0, y0] = project(west, north);
    const [x1, y1] = project(east, south);
    // The whole width; the latitudes centred (cropped when the stage is wide).
    const scale = this.width / (x1 - x0);
    this.minScale = Math.min(scale, this.width / WORLD);
    this.view = {
      scale,
      x0: (x0 + x1) / 2 - this.width / 2 / scale,
      y0: (y0 + y1) / 2 - this.height / 2 / scale,
    };
  }

  /** [lon, lat, zoom] of the view's centre (zoom 1: the world's width in view). */
  center() {
    const [lon, lat] = this.lonLatAt(this.width / 2, this.height / 2);
    return [lon, lat, (this.view.scale * WORLD) / this.width];
  }

  /** Centre the view on lon/lat at `zoom`. */
  setCenter(lon, lat, zoom) {
    const scale = Math.max(this.minScale, Math.min((zoom * this.width) / WORLD, 400000 / WORLD));
    const [x, y] = project(lon, lat);
    this.view = { scale, x0: x - this.width / 2 / scale, y0: y - this.height / 2 / scale };
    this.schedule();
  }

  toScreen(x, y) {
    return [(x - this.view.x0) * this.view.scale, (y - this.view.y0) * this.view.scale];
  }

  zoomAt(px, py, factor) {
    const { scale, x0, y0 } = this.view;
    const next = Math.max(this.minScale, Math.min(scale * factor, 400000 / WORLD));
    const ux = x0 + px / scale;
    const uy = y0 + py / scale;
    this.view = { scale: next, x0: ux - px / next, y0: uy - py / next };
    this.schedule();
  }

  panBy(dx, dy) {
    this.view.x0 -= dx / this.view.scale;
    this.view.y0 -= dy / this.view.scale;
    this.schedule();
  }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
      if (this.onMove) this.onMove();
    });
  }

  _worldContext(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    const s = this.view.scale * ratio;
    ctx.setTransform(s, 0, 0, s, -this.view.x0 * s, -this.view.y0 * s);
    return { ctx, px: 1 / this.view.scale };
  }

  draw() {
    if (!this.view) return;
    this.drawBase();
    this.drawTop();
  }

  drawBase() {
    const { ctx, px } = this._worldContext(this.base);
    ctx.fillStyle = "#050a11";
    ctx.fillRect(this.view.x0, this.view.y0, this.width * px, this.height * px);
    for (const offset of this.copies()) {
      ctx.save();
      ctx.translate(offset, 0);
      this.drawWorld(ctx, px);
      ctx.restore();
    }
    this.top.dataset.sectorsDrawn = String(this.sectors.length);
    this.top.dataset.staffedSectors = String(this.sectors.filter((s) => this.staffed.has(s.id)).length);
  }

  /** Offsets of the copies of the world the view shows (the map wraps east-west). */
  copies() {
    const left = this.view.x0;
    const right = this.view.x0 + this.width / this.view.scale;
    const offsets = [];
    for (let k = Math.floor(left / WORLD) - 1; k <= Math.floor(right / WORLD) + 1; k += 1) {
      // The land and some sectors reach a little past +-180 (unwrapped rings).
      if ((k + 1.1) * WORLD > left && (k - 0.1) * WORLD < right) offsets.push(k * WORLD);
    }
    return offsets;
  }

  /** Land, then sectors: traffic shading, outlines, the staffed ones on top. */
  drawWorld(ctx, px) {
    ctx.fillStyle = "#1d2b3a";
    ctx.fill(this.land);
    ctx.strokeStyle = "#2d3f52";
    ctx.lineWidth = 0.6 * px;
    ctx.stroke(this.land);

    const zoom = (this.view.scale * WORLD) / this.width; // 1: the whole world in view
    const showTracons = zoom > 40;
    const busiest = Math.max(1, ...this.density.values());
    for (const sector of this.sectors) {
      const count = this.density.get(sector.id) || 0;
      if (!count || sector.kind === "uir") continue;
      const share = Math.log1p(count) / Math.log1p(busiest);
      ctx.fillStyle = `rgba(76, 201, 240, ${(0.03 + 0.22 * share).toFixed(3)})`;
      ctx.fill(sector.path, "evenodd");
    }
    ctx.strokeStyle = "rgba(120, 150, 180, 0.16)";
    ctx.lineWidth = 0.6 * px;
    ctx.stroke(this.outlines.fir);
    if (showTracons) ctx.stroke(this.outlines.tracon);
    ctx.fillStyle = "rgba(61, 220, 151, 0.13)";
    ctx.strokeStyle = "rgba(61, 220, 151, 0.85)";
    ctx.lineWidth = 1.3 * px;
    for (const sector of this.sectors) {
      if (!this.staffed.has(sector.id)) continue;
      ctx.fill(sector.path, "evenodd");
      ctx.stroke(sector.path);
    }
  }

  drawTop() {
    const { ctx, px } = this._worldContext(this.top);
    const { rows, x, y } = this.flights;
    const paths = BUCKET_COLORS.map(() => new Path2D());
    const ground = new Path2D();
    const zoom = (this.view.scale * WORLD) / this.width;
    const size = Math.max(3.2, Math.min(6, 2 + zoom)) * px;
    const { col } = this;
    for (let i = 0; i < rows.length; i += 1) {
      const row = rows[i];
      const heading = ((row[col.heading] || 0) * Math.PI) / 180;
      const sin = Math.sin(heading);
      const cos = Math.cos(heading);
      const cx = x[i];
      const cy = y[i];
      // An arrowhead pointing along the heading (screen y grows southwards).
      const pt = (fx, fy) => [cx + (fx * cos - fy * sin) * size, cy + (fx * sin + fy * cos) * size];
      const [ax, ay] = pt(0, -1.6);
      const [bx, by] = pt(0.95, 1);
      const [mx, my] = pt(0, 0.45);
      const [dx, dy] = pt(-0.95, 1);
      const onGround = (row[col.groundspeed] || 0) < GROUND_SPEED_KT;
      const path = onGround ? ground : paths[Math.min(BUCKETS - 1, Math.floor(Math.max(0, row[col.altitude] || 0) / BUCKET_FT))];
      path.moveTo(ax, ay);
      path.lineTo(bx, by);
      path.lineTo(mx, my);
      path.lineTo(dx, dy);
      path.closePath();
    }
    ctx.fillStyle = GROUND_COLOR;
    ctx.fill(ground);
    paths.forEach((path, i) => {
      ctx.fillStyle = BUCKET_COLORS[i];
      ctx.fill(path);
    });
    this.drawTrack(ctx, px);
    const selected = this.selectedIndex();
    if (selected >= 0) {
      ctx.strokeStyle = "#ffffff";
      ctx.lineWidth = 1.5 * px;
      ctx.beginPath();
      ctx.arc(x[selected], y[selected], 9 * px, 0, 2 * Math.PI);
      ctx.stroke();
    }
    this.top.dataset.flightsDrawn = String(rows.length);
  }

  /** The selected flight's track over the flights: a dark casing, then each leg in the
   * colour of its altitude. */
  drawTrack(ctx, px) {
    const points = this.track ? this.track.points : [];
    this.top.dataset.trackPoints = String(points.length);
    if (points.length < 2) return;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    points.forEach(([tx, ty], i) => (i ? ctx.lineTo(tx, ty) : ctx.moveTo(tx, ty)));
    ctx.strokeStyle = "rgba(5, 10, 17, 0.9)";
    ctx.lineWidth = 5 * px;
    ctx.stroke();
    ctx.lineWidth = 2.4 * px;
    for (let i = 1; i < points.length; i += 1) {
      ctx.strokeStyle = altitudeColor(this.track.altitudes[i]);
      ctx.beginPath();
      ctx.moveTo(points[i - 1][0], points[i - 1][1]);
      ctx.lineTo(points[i][0], points[i][1]);
      ctx.stroke();
    }
  }

  selectedIndex() {
    if (this.selected === null) return -1;
    return this.flights.rows.findIndex((row) => row[this.col.id] === this.selected);
  }

  /** The row of the flight nearest to a screen point, within `radius` pixels. */
  flightAt(px, py, radius = 10) {
    const { rows, x, y } = this.flights;
    let best = -1;
    let bestDistance = radius * radius;
    for (let i = 0; i < rows.length; i += 1) {
      const [sx, sy] = this.toScreen(x[i], y[i]);
      const d = (sx - px) ** 2 + (sy - py) ** 2;
      if (d <= bestDistance) {
        best = i;
        bestDistance = d;
      }
    }
    return best < 0 ? null : rows[best];
  }

  /** Screen position of a flight (for tests and tooltips). */
  screenOf(id) {
    const i = this.flights.rows.findIndex((row) => row[this.col.id] === id);
    return i < 0 ? null : this.toScreen(this.flights.x[i], this.flights.y[i]);
  }

  lonLatAt(px, py) {
    return unproject(this.view.x0 + px / this.view.scale, this.view.y0 + py / this.view.scale);
  }
}
