# Pinned versions of the real servers the sink integration tests run (sourced by
# scripts/testenv-sinks-*.sh; test/integration/sinks/harness/servers.ts reads the same KEY=value lines).
# Changing a version here makes the scripts rebuild into a new cache directory.
VICTORIALOGS_VERSION=v1.52.1
# OpenTelemetry Collector builder (OCB) and the component versions of the minimal distribution.
OTELCOL_VERSION=v0.165.0
OPENSEARCH_VERSION=2.19.6
OPENSEARCH_LOG4J_VERSION=2.25.4
