// TradingView lightweight-charts behind a declarative interface: appended points are streamed in with update().
import {
  AreaSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  LineSeries,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesType,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useRef } from 'react';

export interface ChartPoint {
  time: number;
  value: number;
  color?: string;
}

/** A mark on the first series at a point's time (e.g. where a decision changed the target). */
export interface ChartMarker {
  time: number;
  position: 'aboveBar' | 'belowBar' | 'inBar';
  shape: 'arrowUp' | 'arrowDown' | 'circle' | 'square';
  color: string;
  text?: string;
}

export interface ChartSeries {
  id: string;
  label: string;
  kind: 'line' | 'area' | 'histogram';
  color: string;
  points: ChartPoint[];
}

interface Drawn {
  api: ISeriesApi<SeriesType>;
  count: number;
  first: number | undefined;
  last: number | undefined;
}

export interface TimeChartProps {
  series: ChartSeries[];
  height?: number;
  /** How the price scale reads: dollars (compact), a percentage of 1, or plain numbers. */
  format?: 'money' | 'percent' | 'number';
  testId?: string;
  label: string;
  /** Markers drawn on the first series (sorted by time here; lightweight-charts needs that). */
  markers?: ChartMarker[];
  /** Let the reader zoom (wheel, pinch) and pan; marker labels thin out or come back as the zoom changes. */
  zoomable?: boolean;
}

/** Fewest pixels between two labelled markers: closer ones keep their arrow but drop their text. */
export const LABEL_GAP_PX = 36;

/**
 * Which markers keep their text at the current zoom: walking in time, a label is kept only when it sits at least
 * `gap` pixels right of the last kept one, so 100+ labels never pile up (zooming in brings them back).
 * `x` maps a marker's time to its pixel (null when off screen: those keep no label).
 */
export function thinLabels(markers: ChartMarker[], x: (time: number) => number | null, gap = LABEL_GAP_PX): ChartMarker[] {
  let last = -Infinity;
  return [...markers]
    .sort((a, b) => a.time - b.time)
    .map((m) => {
      const at = x(m.time);
      if (!m.text || at === null || at - last < gap) return { ...m, text: '' };
      last = at;
      return m;
    });
}

const compact = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', notation: 'compact', maximumFractionDigits: 2 });

function priceFormatter(format: TimeChartProps['format']): ((v: number) => string) | undefined {
  if (format === 'percent') return (v: number) => `${(v * 100).toFixed(1)}%`;
  if (format === 'money') return (v: number) => compact.format(v);
  return undefined;
}

function add(chart: IChartApi, s: ChartSeries): ISeriesApi<SeriesType> {
  const common = { priceLineVisible: false, lastValueVisible: true, title: '' };
  if (s.kind === 'area') {
    return chart.addSeries(AreaSeries, { ...common, lineColor: s.color, topColor: `${s.color}55`, bottomColor: `${s.color}08`, lineWidth: 2 });
  }
  if (s.kind === 'histogram') return chart.addSeries(HistogramSeries, { ...common, color: s.color });
  return chart.addSeries(LineSeries, { ...common, color: s.color, lineWidth: 2 });
}

function toData(points: ChartPoint[]) {
  return points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value, ...(p.color ? { color: p.color } : {}) }));
}

export function TimeChart({ series, height = 280, format = 'number', testId, label, markers, zoomable = false }: TimeChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const drawn = useRef(new Map<string, Drawn>());
  const marks = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  const marksOn = useRef<ISeriesApi<SeriesType> | null>(null);

  useEffect(() => {
    if (!box.current) return undefined;
    const styles = getComputedStyle(document.documentElement);
    const text = styles.getPropertyValue('--muted').trim() || '#8b95a7';
    const grid = styles.getPropertyValue('--grid').trim() || '#223';
    const api = createChart(box.current, {
      autoSize: true,
      height,
      // the logo sat over the newest data; the licence's link to TradingView is in the legend below instead
      layout: { background: { type: ColorType.Solid, color: 'transparent' }, textColor: text, fontSize: 11, attributionLogo: false },
      grid: { vertLines: { color: grid }, horzLines: { color: grid } },
      rightPriceScale: { borderVisible: false },
      // a whole run (1,000+ daily bars) must fit a phone's width: allow bars narrower than the default half pixel
      timeScale: { borderVisible: false, timeVisible: false, minBarSpacing: 0.05 },
      localization: (() => {
        const formatter = priceFormatter(format);
        return formatter ? { priceFormatter: formatter } : {};
      })(),
      handleScroll: zoomable,
      handleScale: zoomable,
    });
    chart.current = api;
    const current = drawn.current;
    // the whole run always fits: refit when the box changes size (phones rotate, panels reflow)
    const observer = typeof ResizeObserver === 'undefined' ? null : new ResizeObserver(() => api.timeScale().fitContent());
    observer?.observe(box.current);
    return () => {
      observer?.disconnect();
      marks.current = null;
      marksOn.current = null;
      current.clear();
      chart.current = null;
      api.remove();
    };
  }, [height, format, zoomable]);

  useEffect(() => {
    const api = chart.current;
    if (!api) return;
    for (const s of series) {
      let d = drawn.current.get(s.id);
      if (!d) {
        d = { api: add(api, s), count: 0, first: undefined, last: undefined };
        drawn.current.set(s.id, d);
      }
      const first = s.points[0]?.time;
      const appendable = d.count > 0 && first === d.first && s.points.length >= d.count && d.last !== undefined;
      if (appendable) {
        const tail = s.points.slice(d.count - 1);
        for (const p of toData(tail)) if ((p.time as number) >= (d.last ?? 0)) d.api.update(p);
      } else {
        d.api.setData(toData(s.points));
      }
      d.count = s.points.length;
      d.first = first;
      d.last = s.points[s.points.length - 1]?.time;
    }
    for (const [id, d] of drawn.current) {
      if (!series.some((s) => s.id === id)) {
        api.removeSeries(d.api);
        drawn.current.delete(id);
      }
    }
    api.timeScale().fitContent();
  }, [series]);

  useEffect(() => {
    const first = series[0] ? drawn.current.get(series[0].id) : undefined;
    if (!first) return;
    const data = [...(markers ?? [])]
      .sort((a, b) => a.time - b.time)
      .map((m) => ({ time: m.time as UTCTimestamp, position: m.position, shape: m.shape, color: m.color, text: m.text ?? '' }));
    if (!(marks.current && marksOn.current === first.api)) {
      marks.current?.detach();
      marks.current = createSeriesMarkers(first.api, data);
      marksOn.current = first.api;
    }
    const scale = chart.current?.timeScale();
    const plugin = marks.current;
    const relabel = () => {
      const shown = scale?.timeToCoordinate ? thinLabels(markers ?? [], (t) => scale.timeToCoordinate(t as UTCTimestamp)) : markers ?? [];
      plugin.setMarkers(shown.map((m) => ({ time: m.time as UTCTimestamp, position: m.position, shape: m.shape, color: m.color, text: m.text ?? '' })));
      if (box.current) box.current.dataset.labels = String(shown.filter((m) => m.text).length);
    };
    relabel();
    // thin again whenever the visible range changes (zoom, pan, resize, new points)
    scale?.subscribeVisibleLogicalRangeChange?.(relabel);
    return () => scale?.unsubscribeVisibleLogicalRangeChange?.(relabel);
  }, [series, markers]);

  const main = series[0]?.points ?? [];
  return (
    <figure className="chart" aria-label={label}>
      <div
        ref={box}
        className="chart-box"
        style={{ height }}
        data-testid={testId}
        data-points={main.length}
        data-last={main.length ? main[main.length - 1]?.value : ''}
        data-markers={markers?.length ?? 0}
      />
      <figcaption className="legend">
        {series.map((s) => (
          <span key={s.id} className="legend-item">
            <i style={{ background: s.color }} /> {s.label}
          </span>
        ))}
        <a className="legend-credit" href="https://www.tradingview.com/" target="_blank" rel="noreferrer">
          chart by TradingView Lightweight Charts™
        </a>
      </figcaption>
    </figure>
  );
}
