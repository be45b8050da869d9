// A board decision's votes, in one place for every page that shows them (AI Signals, Decisions): each member's
// calibrated P(up)/P(down), its weight in the decision, an exit request, and the member's own reason.
import type { Schemas } from '../api/client';
import { fmtNumber } from '../format';
import { Badge } from './ui';

export type Vote = Schemas['DecisionVote'];

/** A probability with two decimals, or a dash where the member had no view on the symbol. */
export function fmtProb(value: number | null): string {
  return value === null ? '—' : value.toFixed(2);
}

/** Members that said something: a view on the symbol or an exit request. */
export function spoke(votes: Vote[]): Vote[] {
  return votes.filter((v) => v.p_up !== null || v.exit);
}

/** One compact chip per member with a view: `lstm 0.61/0.22 w0.39`, EXIT when it asked to close. */
export function VoteChips({ votes }: { votes: Vote[] }) {
  return (
    <>
      {spoke(votes).map((v) => (
        <span key={`${v.member}-${v.timeframe}`} className="vote-chip">
          <code>{v.member}</code> {fmtProb(v.p_up)}/{fmtProb(v.p_down)} w{v.weight.toFixed(2)}
          {v.exit ? ' EXIT' : ''}{' '}
        </span>
      ))}
    </>
  );
}

/** Every member's vote as a table (members without a view say so); a single strategy has none to show. */
export function VotesTable({ votes, testId }: { votes: Vote[]; testId?: string }) {
  if (!votes.length) {
    return <p className="muted">This strategy decides alone: there are no board votes.</p>;
  }
  return (
    <table className="votes-table" data-testid={testId}>
      <thead>
        <tr>
          <th>Member</th>
          <th>Timeframe</th>
          <th className="num">P(up)</th>
          <th className="num">P(down)</th>
          <th className="num">Weight</th>
          <th>Exit</th>
          <th>Reason</th>
        </tr>
      </thead>
      <tbody>
        {votes.map((v) => (
          <tr key={`${v.member}-${v.timeframe}`}>
            <td>
              <code>{v.member}</code>
            </td>
            <td>{v.timeframe}</td>
            <td className="num">{fmtProb(v.p_up)}</td>
            <td className="num">{fmtProb(v.p_down)}</td>
            <td className="num">{fmtNumber(v.weight)}</td>
            <td>{v.exit ? <Badge kind="warn">exit</Badge> : ''}</td>
            <td className="rationale">{v.reason || (v.p_up === null ? 'no view' : '')}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
