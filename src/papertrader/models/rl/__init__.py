"""Reinforcement learning: a trading environment that fills like the PaperBroker, rewards, a PPO agent."""
