// Test setup: DOM matchers, and a stand-in for lightweight-charts (jsdom has no canvas).
import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/react';
import { afterEach, vi } from 'vitest';

vi.mock('lightweight-charts', () => {
  const series = () => ({ setData: vi.fn(), update: vi.fn() });
  return {
    ColorType: { Solid: 'solid' },
    LineSeries: 'Line',
    AreaSeries: 'Area',
    HistogramSeries: 'Histogram',
    createSeriesMarkers: vi.fn(() => ({ setMarkers: vi.fn(), markers: vi.fn(() => []), detach: vi.fn() })),
    createChart: vi.fn(() => ({
      addSeries: vi.fn(series),
      removeSeries: vi.fn(),
      remove: vi.fn(),
      timeScale: () => ({ fitContent: vi.fn() }),
    })),
  };
});

afterEach(() => {
  cleanup();
  window.localStorage.clear();
  window.location.hash = '';
});
