"""Evaluation: landmark metrics, reports."""
