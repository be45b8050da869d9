// Trade Log: every fill with its realised P&L and the position it left, a page at a time, plus working orders.
import { useEffect, useState } from 'react';
import { Empty, Kpi, Loaded, Panel } from '../components/ui';
import { fmtMoney, fmtNumber, fmtSignedMoney, fmtStamp, tone } from '../format';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

/** Fills per page: the log used to render every fill at once (8,000+ px tall). */
export const TRADES_PAGE = 50;

export function Trades() {
  const { api, run } = useSession();
  const live = useLive();
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [run]);
  // the newest page follows the live run; older pages stay put while new fills arrive
  const trades = useResource(
    () => api.trades(run, TRADES_PAGE, offset),
    [run, offset, live.syncKey, offset === 0 ? live.version : 0],
  );
  const orders = useResource(() => api.orders(run, true), [run, live.syncKey, live.version]);
  return (
    <div className="page" data-testid="page-trades">
      <Loaded resource={trades} what="trades">
        {(t) => (
          <>
            <div className="kpis">
              <Kpi label="Fills" value={fmtNumber(t.total)} testId="kpi-fills" />
              <Kpi label="Realised P&L" value={fmtSignedMoney(t.realized_pnl_total)} tone={tone(t.realized_pnl_total)} />
              <Kpi label="Fees" value={fmtMoney(t.fees_total)} />
            </div>
            <Panel
              title={
                t.total > t.trades.length
                  ? `Fills ${fmtNumber(t.offset + 1)}–${fmtNumber(t.offset + t.trades.length)} of ${fmtNumber(t.total)}, newest first`
                  : 'Fills, newest first'
              }
            >
              {t.trades.length ? (
                <div className="table-wrap">
                  <table data-testid="trades-table">
                    <thead>
                      <tr>
                        <th>Time</th>
                        <th>Symbol</th>
                        <th>Side</th>
                        <th className="num">Qty</th>
                        <th className="num">Price</th>
                        <th className="num">Fee</th>
                        <th className="num">Realised</th>
                        <th className="num">Position after</th>
                        <th>Order</th>
                      </tr>
                    </thead>
                    <tbody>
                      {t.trades.map((x) => (
                        <tr key={x.seq}>
                          <td>{fmtStamp(x.ts)}</td>
                          <td>{x.symbol}</td>
                          <td className={x.side === 'buy' ? 'up' : 'down'}>{x.side}</td>
                          <td className="num">{fmtNumber(x.qty)}</td>
                          <td className="num">{fmtMoney(x.price)}</td>
                          <td className="num">{fmtMoney(x.fee)}</td>
                          <td className={`num ${tone(x.realized_pnl)}`}>{x.realized_pnl ? fmtSignedMoney(x.realized_pnl) : '—'}</td>
                          <td className="num">{fmtNumber(x.position_after)}</td>
                          <td className="muted small">
                            {x.tag === 'protect' ? 'protective stop' : x.tag} {x.reason}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <Empty title="No fills yet">Trades appear here as orders fill.</Empty>
              )}
              {t.total > TRADES_PAGE ? (
                <div className="pager" data-testid="trades-pager">
                  <button type="button" disabled={offset === 0} onClick={() => setOffset(0)}>
                    Newest
                  </button>
                  <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - TRADES_PAGE))}>
                    Newer
                  </button>
                  <button
                    type="button"
                    disabled={offset + TRADES_PAGE >= t.total}
                    onClick={() => setOffset(offset + TRADES_PAGE)}
                  >
                    Older
                  </button>
                </div>
              ) : null}
            </Panel>
          </>
        )}
      </Loaded>
      <Panel title="Working orders">
        <Loaded resource={orders} what="orders">
          {(o) =>
            o.orders.length ? (
              <div className="table-wrap">
                <table data-testid="orders-table">
                  <thead>
                    <tr>
                      <th>Created</th>
                      <th>Symbol</th>
                      <th>Side</th>
                      <th className="num">Qty</th>
                      <th className="num">Filled</th>
                      <th>Type</th>
                      <th>Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {o.orders.map((x) => (
                      <tr key={x.id}>
                        <td>{fmtStamp(x.created_at)}</td>
                        <td>{x.symbol}</td>
                        <td>{x.side}</td>
                        <td className="num">{fmtNumber(x.qty)}</td>
                        <td className="num">{fmtNumber(x.filled_qty)}</td>
                        <td>{x.type}</td>
                        <td>{x.status}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty title="No working orders" />
            )
          }
        </Loaded>
      </Panel>
    </div>
  );
}
