"""Helpers for the config tests: YAML documents built from a few arguments, a small platform
(services, deployments) to analyze config against, and ways to find problems and the lines
they point at. Pure functions over text; nothing is loaded until a test asks."""
