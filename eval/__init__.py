"""Evaluation: dataset, metrics, runner."""
