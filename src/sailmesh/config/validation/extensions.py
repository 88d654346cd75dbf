"""Validation rules for extensions.istio.io: WasmPlugin.

Mirrors istiod's checks: the module URL and its scheme, the sha256 checksum, the pull secret
and plugin names, VM environment variables, traffic selectors, and selector vs targetRef(s).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from sailmesh.config.diagnostics import Report, join_path
from sailmesh.config.models.extensions import WasmPluginSpec
from sailmesh.config.resource import Resource
from sailmesh.config.validation.security.common import check_policy_head

URL_SCHEMES = ("oci", "file", "http", "https")
_SHA256 = re.compile(r"^[a-f0-9]{64}$")


def validate_wasm_plugin(resource: Resource, report: Report) -> None:
    spec: WasmPluginSpec = resource.spec
    check_policy_head(report, resource)
    _check_url(report, spec)
    if spec.sha256 is not None and spec.sha256 != "" and not _SHA256.match(spec.sha256):
        report.error(
            "spec.sha256",
            "sha256 must be 64 lowercase hexadecimal characters (the "
            "output of `sha256sum plugin.wasm`)",
        )
    if spec.image_pull_secret is not None and not 1 <= len(spec.image_pull_secret) <= 253:
        report.error("spec.imagePullSecret", "must be the name of a Secret (1 to 253 characters)")
    if spec.plugin_name is not None and not 1 <= len(spec.plugin_name) <= 256:
        report.error("spec.pluginName", "must be 1 to 256 characters (the plugin's root id)")
    if (
        spec.image_pull_secret
        and spec.url
        and not spec.url.startswith("oci://")
        and "://" in (spec.url)
    ):
        report.warn("spec.imagePullSecret", "imagePullSecret is only used for oci:// images")
    _check_vm_config(report, spec)
    for i, selector in enumerate(spec.match or ()):
        for j, port in enumerate(selector.ports or ()):
            at = f"spec.match[{i}].ports[{j}].number"
            if port.number is None:
                report.error(at, "required field is missing: the destination port to match")
            elif not 1 <= port.number <= 65535:
                report.error(at, f"invalid port {port.number}: must be between 1 and 65535")


def _check_url(report: Report, spec: WasmPluginSpec) -> None:
    url = spec.url
    if not url:
        report.error(
            "spec.url",
            "required field is missing: the Wasm module to load, e.g. "
            "'oci://ghcr.io/org/plugin:1.0', 'https://host/plugin.wasm' or "
            "'file:///opt/filters/plugin.wasm'",
        )
        return
    if "://" not in url:
        report.warn(
            "spec.url",
            f"url {url!r} has no scheme and is treated as an OCI image "
            f"reference; write 'oci://{url}' to make that explicit",
        )
        return
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES:
        report.error(
            "spec.url",
            f"unsupported url scheme {parts.scheme!r}: use oci://, file://, http:// or https://",
        )
    elif parts.scheme == "file" and not parts.path:
        report.error("spec.url", f"file url {url!r} has no path; use 'file:///abs/path.wasm'")
    elif parts.scheme != "file" and not parts.netloc:
        report.error("spec.url", f"url {url!r} has no host")
    if parts.scheme == "http" and not spec.sha256:
        report.warn(
            "spec.sha256",
            "the module is downloaded over plain http; set sha256 so "
            "that the proxy verifies what it loads",
        )


def _check_vm_config(report: Report, spec: WasmPluginSpec) -> None:
    if spec.vm_config is None:
        return
    env = spec.vm_config.env or []
    if len(env) > 256:
        report.error("spec.vmConfig.env", "at most 256 environment variables are allowed")
    seen: set[str] = set()
    for i, var in enumerate(env):
        at = f"spec.vmConfig.env[{i}]"
        if not var.name:
            report.error(join_path(at, "name"), "required field is missing: the variable name")
        elif len(var.name) > 256:
            report.error(join_path(at, "name"), "must be at most 256 characters")
        elif var.name in seen:
            report.error(join_path(at, "name"), f"duplicate environment variable {var.name!r}")
        else:
            seen.add(var.name)
        if var.value_from == "HOST" and var.value:
            report.error(
                join_path(at, "value"),
                "`value` is only used with valueFrom: INLINE "
                "(the default); with valueFrom: HOST the proxy's own variable of that "
                "name is passed",
            )
        if var.value is not None and len(var.value) > 2048:
            report.error(join_path(at, "value"), "must be at most 2048 characters")
