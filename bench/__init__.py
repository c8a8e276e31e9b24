"""Benchmarks (not tests): they measure, write a JSON report, and assert nothing about time."""
