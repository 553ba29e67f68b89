import type { TableSize } from './types';

export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 100 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

export function formatRows(rows: number): string {
  if (rows >= 1e9) return `${(rows / 1e9).toFixed(1)} G`;
  if (rows >= 1e6) return `${(rows / 1e6).toFixed(rows >= 1e7 ? 0 : 1)} M`;
  if (rows >= 1e4) return `${Math.round(rows / 1e3)} k`;
  return String(Math.round(rows));
}

/** `events: ~41 M rows, 9.8 GB` */
export function sizeText(size: TableSize): string {
  return `${size.name}: ${size.rows === undefined ? 'rows unknown (never analysed)' : `~${formatRows(size.rows)} rows`}, ${formatBytes(size.bytes)}`;
}
