"""Commands around the stages: evaluate, predict, sweep, serve."""
