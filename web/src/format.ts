// Number and time formatting in one place, so every page shows money, percentages and dates alike.
const money = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 2 });
const money0 = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const number = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });
const stamp = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

export const DASH = '—';

/** Every time on screen is the exchange's clock (America/New_York), labelled as the CLI and reports label it. */
export const ZONE = 'ET';

export function fmtMoney(value: number | null | undefined, whole = false): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return (whole ? money0 : money).format(value);
}

export function fmtSignedMoney(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return `${value > 0 ? '+' : ''}${money.format(value)}`;
}

export function fmtPct(value: number | null | undefined, digits = 2, signed = false): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  const text = `${(value * 100).toFixed(digits)}%`;
  return signed && value > 0 ? `+${text}` : text;
}

export function fmtNumber(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return number.format(value);
}

export function fmtDay(iso: string | null | undefined): string {
  return iso ? day.format(new Date(iso)) : DASH;
}

/** `2024-01-02 16:00 ET`: a time on the exchange's clock with its zone, the same form the CLI prints. */
export function fmtStamp(iso: string | null | undefined): string {
  return iso ? `${stamp.format(new Date(iso)).replace(',', '')} ${ZONE}` : DASH;
}

export function fmtMs(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return value < 10 ? `${value.toFixed(2)} ms` : `${value.toFixed(0)} ms`;
}

/** Replay speed in words: market time per wall second. */
export function fmtSpeed(speed: number | null | undefined): string {
  if (speed === null || speed === undefined) return DASH;
  if (speed === 0) return 'as fast as possible';
  const days = speed / 86_400;
  if (days >= 1) return `${number.format(days)} market day${days === 1 ? '' : 's'} / s`;
  const hours = speed / 3600;
  if (hours >= 1) return `${number.format(hours)} market h / s`;
  return `${number.format(speed)}× real time`;
}

/** Seconds since the epoch, the time unit the charts use. */
export function toChartTime(iso: string): number {
  return Math.floor(new Date(iso).getTime() / 1000);
}

export function tone(value: number | null | undefined): 'up' | 'down' | 'flat' {
  if (value === null || value === undefined || !Number.isFinite(value) || value === 0) return 'flat';
  return value > 0 ? 'up' : 'down';
}
