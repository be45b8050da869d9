// Pure helpers behind the vote rows and the chart's marker labels.
import { describe, expect, it } from 'vitest';
import { fmtStamp } from '../format';
import { thinLabels, type ChartMarker } from './TimeChart';
import { leftOut, plainRationale, plainText, spoke, type Vote } from './Votes';

const vote = (over: Partial<Vote>): Vote => ({ member: 'lstm', timeframe: 'short', p_up: 0.6, p_down: 0.4, exit: false, weight: 0.2, reason: '', ...over });

describe('vote wording', () => {
  it('turns the board rationale into a sentence and drops the per-member jargon', () => {
    const raw = 'board P(up) 0.55 P(down) 0.44 edge +0.11 -> weight +0.012; lstm[short] up 0.44 down 0.56 w 0.12';
    expect(plainRationale(raw)).toBe('The board leans up: 55% up vs 44% down, so it asks for 1.2% of equity.');
    expect(plainRationale('board P(up) 0.50 P(down) 0.49 edge +0.01 -> weight +0.000')).toBe(
      'The board has no clear lean: 50% up vs 49% down, so it holds no position.',
    );
    expect(plainRationale('EXIT requested by ppo: target 0; lstm[short] up 0.44 down 0.56 w 0.09')).toBe(
      'ppo asked to exit, so the board closes the position.',
    );
  });

  it('rewrites raw probabilities and weights and leaves other text alone', () => {
    expect(plainText('lstm[short] up 0.44 down 0.56 w 0.12')).toBe('lstm[short] 44% up, 56% down weight 12%');
    expect(plainText('sma20 above sma50')).toBe('sma20 above sma50');
  });

  it('knows a gated member by its zero weight and "left out" reason, and does not count it as a view', () => {
    const gated = vote({ weight: 0, reason: 'lstm: left out, validation log loss 0.694 >= base rate 0.692' });
    expect(leftOut(gated)).toBe(true);
    expect(leftOut(vote({ weight: 0, reason: 'lstm (v1): raw P(up) 0.5 P(down) 0.5' }))).toBe(false);
    expect(spoke([gated, vote({})])).toHaveLength(1);
  });
});

describe('thinLabels', () => {
  const mark = (time: number): ChartMarker => ({ time, position: 'aboveBar', shape: 'arrowUp', color: '#fff', text: `${time}%` });

  it('keeps a label only where it has room at the current zoom, and every arrow', () => {
    const marks = Array.from({ length: 120 }, (_, i) => mark(i));
    const packed = thinLabels(marks, (t) => t * 3); // 3 px apart: a label every 12th marker
    expect(packed).toHaveLength(120);
    expect(packed.filter((m) => m.text).map((m) => m.time)).toEqual([0, 12, 24, 36, 48, 60, 72, 84, 96, 108]);
    const zoomed = thinLabels(marks, (t) => t * 40); // zoomed in: room for all of them
    expect(zoomed.every((m) => m.text)).toBe(true);
    expect(thinLabels(marks, () => null).some((m) => m.text)).toBe(false); // off screen: no labels
  });
});

describe('times', () => {
  it('shows the exchange clock with its zone label, across daylight saving', () => {
    expect(fmtStamp('2024-01-02T21:00:00Z')).toBe('2024-01-02 16:00 ET');
    expect(fmtStamp('2024-07-01T20:00:00Z')).toBe('2024-07-01 16:00 ET');
  });
});
