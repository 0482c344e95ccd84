// Small canvas charts (no library): a time series with optional band and threshold
// lines, and an hour x weekday heat map. Every chart writes how many values it drew
// into `data-points` of its canvas, so that tests read counts, not pixels.

export const COLORS = {
  text: "#9fb3c8",
  grid: "#22303f",
  line: "#4cc9f0",
  second: "#f4a259",
  band: "rgba(76, 201, 240, 0.18)",
  warning: "#f4d35e",
  alert: "#ef476f",
};

/** A canvas sized for its CSS box and the screen's pixel ratio; returns its context
 * with the transform set so that drawing is in CSS pixels. */
export function fitCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const { width, height } = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round(width * ratio));
  const h = Math.max(1, Math.round(height * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  return { ctx, width, height };
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

const timeLabel = (ms) => new Date(ms).toISOString().slice(11, 16);

/**
 * A time series: `series` is [{color, points: [[ms, value], ...], bars?, dash?}],
 * `band` optional {points: [[ms, low, high], ...]}, `thresholds` optional
 * [{value, color, label}], `unit` a suffix for the axis.
 */
export function timeChart(canvas, { series, band = null, thresholds = [], unit = "" }) {
  const { ctx, width, height } = fitCanvas(canvas);
  const pad = { left: 44, right: 10, top: 10, bottom: 20 };
  const all = series.flatMap((s) => s.points);
  const bandPoints = band ? band.points : [];
  const times = [...all.map((p) => p[0]), ...bandPoints.map((p) => p[0])];
  const values = [
    ...all.map((p) => p[1]),
    ...bandPoints.map((p) => p[2]),
    ...thresholds.map((t) => t.value),
  ].filter((v) => v !== null && v !== undefined);
  canvas.dataset.points = String(all.length);
  if (!times.length) {
    ctx.fillStyle = COLORS.text;
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText("no data", width / 2 - 20, height / 2);
    return;
  }
  const t0 = Math.min(...times);
  const t1 = Math.max(...times, t0 + 1);
  const top = niceMax(Math.max(...values, 0));
  const x = (t) => pad.left + ((t - t0) / (t1 - t0)) * (width - pad.left - pad.right);
  const y = (v) => height - pad.bottom - (v / top) * (height - pad.top - pad.bottom);

  ctx.font = "10px system-ui, sans-serif";
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i += 1) {
    const v = (top * i) / 4;
    ctx.strokeStyle = COLORS.grid;
    ctx.beginPath();
    ctx.moveTo(pad.left, y(v));
    ctx.lineTo(width - pad.right, y(v));
    ctx.stroke();
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = "right";
    ctx.fillText(`${Math.round(v).toLocaleString("en")}${unit}`, pad.left - 4, y(v) + 3);
  }
  for (let i = 0; i <= 4; i += 1) {
    const t = t0 + ((t1 - t0) * i) / 4;
    ctx.textAlign = i === 0 ? "left" : i === 4 ? "right" : "center";
    ctx.fillText(timeLabel(t), x(t), height - 6);
  }
  if (bandPoints.length) {
    ctx.fillStyle = COLORS.band;
    ctx.beginPath();
    bandPoints.forEach(([t, , high], i) => (i ? ctx.lineTo(x(t), y(high)) : ctx.moveTo(x(t), y(high))));
    for (let i = bandPoints.length - 1; i >= 0; i -= 1) ctx.lineTo(x(bandPoints[i][0]), y(bandPoints[i][1]));
    ctx.closePath();
    ctx.fill();
  }
  for (const t of thresholds) {
    ctx.strokeStyle = t.color;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(pad.left, y(t.value));
    ctx.lineTo(width - pad.right, y(t.value));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  for (const s of series) {
    ctx.strokeStyle = s.color || COLORS.line;
    ctx.fillStyle = s.color || COLORS.line;
    ctx.lineWidth = 1.6;
    if (s.bars) {
      const step = s.points.length > 1 ? x(s.points[1][0]) - x(s.points[0][0]) : 8;
      const w = Math.max(2, step * 0.7);
      for (const [t, v] of s.points) ctx.fillRect(x(t) - w / 2, y(v), w, y(0) - y(v));
      continue;
    }
    ctx.setLineDash(s.dash || []);
    ctx.beginPath();
    let drawing = false;
    for (const [t, v] of s.points) {
      if (v === null || v === undefined) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(x(t), y(v));
      else ctx.moveTo(x(t), y(v));
      drawing = true;
    }
    ctx.stroke();
    ctx.setLineDash([]);
  }
}

/** An hour (columns) x weekday (rows) heat map of `cells[weekday][hour]` (null: no
 * value), shaded against `top` (default: the largest cell). */
export function heatMap(canvas, cells, rowLabels, top = null) {
  const { ctx, width, height } = fitCanvas(canvas);
  const pad = { left: 34, top: 4, bottom: 16 };
  const rows = cells.length;
  const cols = cells[0] ? cells[0].length : 24;
  const most = top ?? Math.max(...cells.flat().filter((v) => v !== null), 1);
  const cw = (width - pad.left) / cols;
  const ch = (height - pad.top - pad.bottom) / rows;
  ctx.font = "10px system-ui, sans-serif";
  let points = 0;
  cells.forEach((row, r) => {
    ctx.fillStyle = COLORS.text;
    ctx.textAlign = "right";
    ctx.fillText(rowLabels[r], pad.left - 4, pad.top + r * ch + ch / 2 + 3);
    row.forEach((value, c) => {
      const known = value !== null && value !== undefined;
      ctx.fillStyle = known ? `rgba(61, 220, 151, ${0.12 + 0.88 * (value / most)})` : "#141e29";
      ctx.fillRect(pad.left + c * cw + 1, pad.top + r * ch + 1, cw - 2, ch - 2);
      if (known) points += 1;
    });
  });
  ctx.fillStyle = COLORS.text;
  ctx.textAlign = "center";
  for (let c = 0; c < cols; c += 3) ctx.fillText(String(c).padStart(2, "0"), pad.left + c * cw + cw / 2, height - 4);
  canvas.dataset.points = String(points);
}
