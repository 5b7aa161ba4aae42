#!/usr/bin/env bash
# Everything the chart tests validate rendered objects with, cached:
#   $CACHE/kubeconform-<ver>/bin/kubeconform                built from its Go module
#   $CACHE/kube-schemas/<kube version>-standalone-strict/     JSON schemas of every built-in kind, made
#        from the OpenAPI spec in the k8s.io/kubernetes module zip (api/openapi-spec/swagger.json)
#   $CACHE/kube-schemas/prometheus-operator-<ver>/            ServiceMonitor, PodMonitor, PrometheusRule, ...
#        from the CRDs in the prometheus-operator module zip (example/prometheus-operator-crd)
# The layout is kubeconform's (<kind>-<group>-<version>.json, "strict": additionalProperties false).
# Prints KEY=path lines. Idempotent.
source "$(dirname "$0")/testenv-lib.sh"
cd "$REPO_ROOT"

kc="$CACHE/kubeconform-$KUBECONFORM_VERSION"
if [ ! -x "$kc/bin/kubeconform" ]; then
  need_go
  tmp="$(mktemp -d "$CACHE/.kubeconform.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "building github.com/yannh/kubeconform@$KUBECONFORM_VERSION"
  GOBIN="$tmp/bin" go install -trimpath -ldflags "-s -w -X main.version=$KUBECONFORM_VERSION" \
    "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION"
  "$tmp/bin/kubeconform" -v | grep -qx "$KUBECONFORM_VERSION"
  chmod 0755 "$tmp"
  publish "$tmp" "$kc"
  trap - EXIT
fi
echo "KUBECONFORM=$kc/bin/kubeconform"

schemas="$CACHE/kube-schemas"
mkdir -p "$schemas"
# The converter is TypeScript run by the repo's tsx (npm ci first).
convert=(npx --no-install tsx "$REPO_ROOT/test/chart/openapi2jsonschema.ts")
for v in $KUBE_SCHEMA_VERSIONS; do
  out="$schemas/$v-standalone-strict"
  if [ ! -f "$out/.complete" ]; then
    need_go
    log "k8s.io/kubernetes@$v: api/openapi-spec/swagger.json -> JSON schemas"
    dir="$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
    [ -f "$dir/api/openapi-spec/swagger.json" ] || { log "no api/openapi-spec/swagger.json in the k8s.io/kubernetes@$v module"; exit 1; }
    tmp="$(mktemp -d "$schemas/.$v.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    "${convert[@]}" swagger "$dir/api/openapi-spec/swagger.json" "$tmp"
    touch "$tmp/.complete"
    chmod 0755 "$tmp"
    publish "$tmp" "$out"
    trap - EXIT
  fi
  echo "KUBE_SCHEMAS_$v=$out"
done

crds="$schemas/prometheus-operator-$PROMETHEUS_OPERATOR_VERSION"
if [ ! -f "$crds/.complete" ]; then
  need_go
  log "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION: CRDs -> JSON schemas"
  dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION" | sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  [ -d "$dir/example/prometheus-operator-crd" ] || { log "no example/prometheus-operator-crd in the prometheus-operator module"; exit 1; }
  tmp="$(mktemp -d "$schemas/.crds.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  "${convert[@]}" crd "$tmp" "$dir"/example/prometheus-operator-crd/*.yaml
  touch "$tmp/.complete"
  chmod 0755 "$tmp"
  publish "$tmp" "$crds"
  trap - EXIT
fi
echo "CRD_SCHEMAS=$crds"
