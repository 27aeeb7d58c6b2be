"""Gymnasium tasks with changing goals (registered under the `pbml/` namespace) and the paper's toy worlds."""
