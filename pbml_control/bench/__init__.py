"""Benchmarks behind `pbml bench`: rollout throughput against the physics limit and other tools."""
