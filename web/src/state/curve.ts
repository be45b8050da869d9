// Stored equity points plus the points live cycles add after them, as chart series.
import { useEffect, useMemo, useState } from 'react';
import type { CycleData, Equity } from '../api/client';
import type { ChartPoint } from '../components/TimeChart';
import { toChartTime } from '../format';

export interface Curve {
  equity: ChartPoint[];
  drawdown: ChartPoint[];
  benchmark: ChartPoint[];
}

const TAIL = 5000;

export function useLiveCurve(series: Equity | null, cycle: CycleData | null): Curve {
  const [tail, setTail] = useState<{ time: number; equity: number; drawdown: number }[]>([]);
  const base = useMemo(() => series?.points ?? [], [series]);
  const lastBase = base.length ? toChartTime(base[base.length - 1]!.ts) : -Infinity;

  useEffect(() => setTail([]), [series]);

  useEffect(() => {
    if (!cycle || !cycle.ts || !series || cycle.run_id !== series.run_id) return;
    const time = toChartTime(cycle.ts);
    setTail((prev) => {
      const last = prev.length ? prev[prev.length - 1]!.time : lastBase;
      if (time <= last) return prev;
      return [...prev, { time, equity: cycle.equity, drawdown: cycle.drawdown }].slice(-TAIL);
    });
  }, [cycle, series, lastBase]);

  return useMemo(() => {
    const fresh = tail.filter((p) => p.time > lastBase);
    return {
      equity: [
        ...base.map((p) => ({ time: toChartTime(p.ts), value: p.equity })),
        ...fresh.map((p) => ({ time: p.time, value: p.equity })),
      ],
      drawdown: [
        ...base.map((p) => ({ time: toChartTime(p.ts), value: p.drawdown })),
        ...fresh.map((p) => ({ time: p.time, value: p.drawdown })),
      ],
      benchmark: base.flatMap((p) => (p.benchmark === null ? [] : [{ time: toChartTime(p.ts), value: p.benchmark }])),
    };
  }, [base, tail, lastBase]);
}
