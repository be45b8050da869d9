"""The paper broker shared by backtest, replay and live paper trading: order lifecycle, fills, costs."""
