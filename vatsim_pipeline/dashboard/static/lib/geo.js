// Web Mercator in "world units": the square is WORLD units wide, the same projection
// and constant as the server's vatsim_pipeline/dashboard/projection.py, which sends
// the land and the sector boundaries as SVG path data in these units.

export const WORLD = 1 << 20;
const MAX_LAT = 85;

/** Longitude/latitude (degrees) to world units [x, y]. */
export function project(lon, lat) {
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat));
  const phi = (clamped * Math.PI) / 180;
  return [
    ((lon + 180) / 360) * WORLD,
    (0.5 - Math.log(Math.tan(Math.PI / 4 + phi / 2)) / (2 * Math.PI)) * WORLD,
  ];
}

/** Inverse of `project`. */
export function unproject(x, y) {
  const lon = (x / WORLD) * 360 - 180;
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * y) / WORLD))) * 180) / Math.PI;
  return [lon, lat];
}
