"""Composition of the control plane: config store + registry + CA + ADS, debounce and push.

In: config changes (apply/delete through the control-plane API), registry changes from the
runtime, proxies connecting over ADS. Out: per-proxy xDS snapshots pushed to Envoy, and the
read views the CLI uses (config, proxy status). Holds no translation logic.
"""
