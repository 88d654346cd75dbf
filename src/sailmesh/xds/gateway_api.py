"""Names of the Kubernetes Gateway API that policy attachment (``targetRef(s)``) reads: a
``Gateway`` of group ``gateway.networking.k8s.io`` names the pods Istio deploys for it, which
carry the label ``gateway.networking.k8s.io/gateway-name: <name>``."""

GATEWAY_API_GROUP = "gateway.networking.k8s.io"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
