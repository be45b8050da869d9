// A board decision's votes, in one place for every page that shows them (AI Signals, Decisions): each member's
// calibrated P(up)/P(down) as percentages, its weight in the decision, an exit request, and its reason in words.
// A member the quality gate left out (weight 0, reason "...left out...") reads as left out, greyed.
import type { Schemas } from '../api/client';
import { Badge } from './ui';

export type Vote = Schemas['DecisionVote'];

/** A probability as a whole percentage, or a dash where the member had no view on the symbol. */
export function fmtProb(value: number | null): string {
  return value === null ? '—' : `${Math.round(value * 100)}%`;
}

/** A board weight as a percentage of the decision (one decimal). */
export function fmtWeight(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** True for a member the quality gate left out: it does not vote, whatever numbers it carries. */
export function leftOut(v: Vote): boolean {
  return v.weight === 0 && /left out/i.test(v.reason);
}

/** Members that said something: a view on the symbol or an exit request (left-out members do not). */
export function spoke(votes: Vote[]): Vote[] {
  return votes.filter((v) => !leftOut(v) && (v.p_up !== null || v.exit));
}

/** Which way a member leans, in words, from its calibrated probabilities. */
export function leaning(pUp: number | null, pDown: number | null): string {
  if (pUp === null || pDown === null) return 'no view';
  const edge = pUp - pDown;
  if (edge > 0.05) return 'leans up';
  if (edge < -0.05) return 'leans down';
  return 'no clear lean';
}

const num = (s: string) => `${Math.round(Number(s) * 100)}%`;

/**
 * An engine sentence made readable: `P(up) 0.34` becomes `34% up`, `w 0.12` `weight 12%`, `raw` `before
 * calibration`, `->` an arrow. Text it does not recognise passes through unchanged.
 */
export function plainText(text: string): string {
  return text
    .replace(/\braw P\(up\) ([\d.]+) P\(down\) ([\d.]+)/g, (_m, u: string, d: string) => `before calibration ${num(u)} up, ${num(d)} down`)
    .replace(/P\(up\) ([\d.]+)/g, (_m, u: string) => `${num(u)} up`)
    .replace(/P\(down\) ([\d.]+)/g, (_m, d: string) => `${num(d)} down`)
    .replace(/\bw ([\d.]+)/g, (_m, w: string) => `weight ${num(w)}`)
    .replace(/\bup ([\d.]+) down ([\d.]+)/g, (_m, u: string, d: string) => `${num(u)} up, ${num(d)} down`)
    .replace(/\s*->\s*/g, ' → ');
}

/** A member's reason in words: why it was left out, or its model and what it saw before calibration. */
export function plainReason(v: Vote): string {
  if (leftOut(v)) {
    const why = v.reason.replace(/^[^:]*:\s*left out,?\s*/i, '');
    return `Left out by the quality gate${why ? `: ${plainText(why)}` : ''} (no better than guessing the base rate on validation data).`;
  }
  if (v.p_up === null && !v.exit) return v.reason ? `No view on this symbol (${plainText(v.reason)}).` : 'No view on this symbol.';
  const lean = leaning(v.p_up, v.p_down).replace(/^./, (c) => c.toUpperCase());
  const source = v.reason.replace(/^[^(]*\(([^)]*)\).*$/, '$1');
  const model = source && source !== v.reason ? ` (${source})` : '';
  const detail = v.reason ? plainText(model ? v.reason.replace(/^[^:]*:\s*/, '') : v.reason) : '';
  return `${lean}${v.exit ? ' and asks to exit' : ''}${detail ? `; ${detail}` : ''}${model}.`;
}

/**
 * The board's own rationale in words: `board P(up) 0.55 P(down) 0.44 edge +0.11 -> weight +0.012; lstm[...]...`
 * becomes "The board leans up: 55% up vs 44% down, so the target is 1.2% of equity." (the members' part is
 * shown as vote rows). Other rationales are made readable as they are.
 */
export function plainRationale(rationale: string): string {
  const exit = /^EXIT requested by ([^:]+): target ([\d.]+)/.exec(rationale);
  if (exit) return `${exit[1]} asked to exit, so the board closes the position.`;
  const m = /^board P\(up\) ([\d.]+) P\(down\) ([\d.]+) edge ([+-]?[\d.]+) -> weight ([+-]?[\d.]+)/.exec(rationale);
  if (!m) return plainText(rationale);
  const [up, down, weight] = [Number(m[1]), Number(m[2]), Number(m[4])];
  const lean = leaning(up, down);
  const target = weight === 0 ? 'so it holds no position' : `so it asks for ${(weight * 100).toFixed(1)}% of equity${weight < 0 ? ' short' : ''}`;
  return `The board ${lean === 'no clear lean' ? 'has no clear lean' : lean}: ${num(m[1]!)} up vs ${num(m[2]!)} down, ${target}.`;
}

/** One line per member with a view: `lstm 44% up`, EXIT when it asked to close (left-out members are not counted). */
export function VoteChips({ votes }: { votes: Vote[] }) {
  const shown = spoke(votes);
  const out = votes.filter(leftOut).length;
  return (
    <span className="vote-chips">
      {shown.map((v) => (
        <span key={`${v.member}-${v.timeframe}`} className="vote-chip" title={plainReason(v)}>
          <code>{v.member}</code> {fmtProb(v.p_up)} up{v.exit ? ' · exit' : ''}
        </span>
      ))}
      {out ? <span className="vote-chip vote-out">{out} left out</span> : null}
    </span>
  );
}

/**
 * Every member's vote as a readable row (member, timeframe, P(up)/P(down) in %, weight, reason in words); rows
 * wrap on narrow screens instead of running out of their card. A single strategy has no votes to show.
 */
export function VotesTable({ votes, testId }: { votes: Vote[]; testId?: string }) {
  if (!votes.length) {
    return <p className="muted">This strategy decides alone: there are no board votes.</p>;
  }
  return (
    <ul className="vote-rows" data-testid={testId}>
      {votes.map((v) => {
        const out = leftOut(v);
        return (
          <li key={`${v.member}-${v.timeframe}`} className={`vote-row${out ? ' vote-row-out' : ''}`} data-testid={`vote-${v.member}`}>
            <span className="vote-member">
              <code>{v.member}</code> <span className="muted small">{v.timeframe}</span>
            </span>
            {out ? (
              <Badge>left out</Badge>
            ) : v.p_up === null ? (
              <span className="muted">no view</span>
            ) : (
              <span className="vote-probs">
                <span className="up">{fmtProb(v.p_up)} up</span> · <span className="down">{fmtProb(v.p_down)} down</span>
              </span>
            )}
            <span className="vote-weight">weight {fmtWeight(v.weight)}</span>
            {v.exit ? <Badge kind="warn">exit</Badge> : null}
            <span className="vote-reason">{plainReason(v)}</span>
          </li>
        );
      })}
    </ul>
  );
}
