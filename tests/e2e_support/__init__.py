"""Helpers for end-to-end tests with real Envoy: backends, xDS resources, an ADS server
thread, Envoy processes and a bounded client loop. Everything binds to 127.0.0.1 and is
stopped by the test that started it."""
