"""Model families (LSTM direction, GRU trend, PPO agent), their validation, registry and fast inference."""
