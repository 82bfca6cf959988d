"""Stage 1, training: MNIST -> artifacts/model.keras + metrics.json. The loop is loop.py; read it first."""
