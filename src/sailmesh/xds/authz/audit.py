"""The audit log: where requests and connections that AUDIT policies match are written.

Istio's AUDIT action only marks a request (the RBAC filter's ``LOG`` action sets the dynamic
metadata ``envoy.common: {access_log_hint: true}``) and leaves the record to a plugin (in Istio,
Stackdriver). sailmesh's plugin is an access log of its own on every HTTP connection manager and
TCP proxy of a proxy that AUDIT policies apply to: it writes a line (``AUDIT`` after the time)
for each marked request or connection only, to the proxy's access log file, or its standard
output when access logging is off (so an AUDIT policy is never silently without effect).

In: the access log path. Out: the ``AccessLog`` to add next to the regular ones.
"""

from __future__ import annotations

from envoy.config.accesslog.v3 import accesslog_pb2
from envoy.config.core.v3 import substitution_format_string_pb2 as sfs_pb2
from envoy.extensions.access_loggers.file.v3 import file_pb2
from envoy.type.matcher.v3 import metadata_pb2, value_pb2

from sailmesh.xds import pb

FILE_ACCESS_LOG = "envoy.access_loggers.file"
#: Where the RBAC filter's LOG action records its decision.
HINT_NAMESPACE = "envoy.common"
HINT_KEY = "access_log_hint"
DEFAULT_PATH = "/dev/stdout"
AUDIT_FORMAT = (
    '[%START_TIME%] AUDIT "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" '
    '%RESPONSE_CODE% %RESPONSE_FLAGS% "%DOWNSTREAM_PEER_URI_SAN%" %DOWNSTREAM_REMOTE_ADDRESS% '
    '"%REQ(:AUTHORITY)%" "%REQ(X-FORWARDED-FOR)%" %UPSTREAM_CLUSTER%\n'
)


def audit_log(path: str) -> accesslog_pb2.AccessLog:
    """A file access log (``path``, or standard output when empty) of audited requests only."""
    log = file_pb2.FileAccessLog(
        path=path or DEFAULT_PATH,
        log_format=sfs_pb2.SubstitutionFormatString(
            text_format_source=pb.data_source(AUDIT_FORMAT)
        ),
    )
    marked = metadata_pb2.MetadataMatcher(
        filter=HINT_NAMESPACE,
        path=[metadata_pb2.MetadataMatcher.PathSegment(key=HINT_KEY)],
        value=value_pb2.ValueMatcher(bool_match=True),
    )
    return accesslog_pb2.AccessLog(
        name=FILE_ACCESS_LOG,
        filter=accesslog_pb2.AccessLogFilter(
            metadata_filter=accesslog_pb2.MetadataFilter(matcher=marked)
        ),
        typed_config=pb.pack(log),
    )
