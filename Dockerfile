# syntax=docker/dockerfile:1
# nodetap container image: the single executable (Node LTS + the agent bundle, built with
# @yao-pkg/pkg in SEA mode by scripts/build-binary.sh) on a distroless glibc base.
#
#   docker buildx build --platform linux/amd64,linux/arm64 -t nodetap:dev .
#   buildah bud --isolation chroot --build-arg TARGETARCH=arm64 ...   (arm64 cross-built on amd64)
#
# Base images are build args so that they can be mirrored or replaced (any glibc >= 2.28 image
# works for the runtime; Alpine/musl does not: the official Node binary needs glibc).
ARG BUILD_IMAGE=node:24-bookworm-slim
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

# ---- build: runs on the build machine's platform and cross-builds the target arch ----------
FROM --platform=$BUILDPLATFORM ${BUILD_IMAGE} AS build
ARG TARGETARCH
# Baked into the binary (nodetap_build_info{revision}, /status); pass `git rev-parse HEAD`.
ARG REVISION=unknown
WORKDIR /src
# Optional build secret "build_ca": a PEM bundle for a TLS-intercepting proxy in front of the npm
# registry (buildah/docker build --secret id=build_ca,src=ca.pem). Unused when not given.
# A C compiler for the native addons (timex.node: adjtimex(2); nvml.node: NVIDIA's NVML, dlopen'ed at run time;
# neigh.node: the rtnetlink neighbour dump for arp), for the target arch.
RUN set -eu; \
    build="$(dpkg --print-architecture)"; target="${TARGETARCH:-$build}"; pkgs="gcc libc6-dev"; \
    if [ "$target" != "$build" ]; then \
      case "$target" in arm64) pkgs="$pkgs gcc-aarch64-linux-gnu libc6-dev-arm64-cross" ;; amd64) pkgs="$pkgs gcc-x86-64-linux-gnu libc6-dev-amd64-cross" ;; esac; \
    fi; \
    apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null; \
    rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=build_ca,required=false \
    --mount=type=cache,target=/root/.npm \
    if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi; \
    npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY native/ native/
COPY agent/ agent/
RUN --mount=type=secret,id=build_ca,required=false \
    --mount=type=cache,target=/root/.npm \
    --mount=type=cache,target=/root/.cache/nodetap-testenv \
    set -eu; \
    if [ -s /run/secrets/build_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/build_ca; fi; \
    case "${TARGETARCH:-amd64}" in amd64) arch=x64 ;; arm64) arch=arm64 ;; *) echo "unsupported TARGETARCH ${TARGETARCH}" >&2; exit 1 ;; esac; \
    NODETAP_BUILD_REVISION="$REVISION" bash scripts/build-binary.sh "$arch"; \
    mkdir -p /out/licenses; \
    cp "dist/nodetap-linux-$arch" /out/nodetap; \
    cp "dist/timex-linux-$arch.node" /out/timex.node; \
    cp "dist/nvml-linux-$arch.node" /out/nvml.node; \
    cp "dist/neigh-linux-$arch.node" /out/neigh.node; \
    cp "/root/.cache/nodetap-testenv/node-v$(sed -n 's/^NODE_LTS_VERSION=//p' scripts/testenv-versions.sh)-linux-$arch/LICENSE" /out/licenses/node.LICENSE; \
    cp dist/bundle/nodetap.cjs.LEGAL.txt /out/licenses/bundled-packages.LEGAL.txt 2>/dev/null || true; \
    /out/nodetap --version >/dev/null 2>&1 || [ "$arch" != x64 ] || [ "$(uname -m)" != x86_64 ]

# ---- runtime ----------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}
ARG RUNTIME_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
LABEL org.opencontainers.image.title="nodetap" \
      org.opencontainers.image.description="Kubernetes node agent: node_exporter-compatible host metrics and at-least-once log shipping" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/nodetap/nodetap" \
      org.opencontainers.image.url="https://github.com/nodetap/nodetap" \
      org.opencontainers.image.documentation="https://github.com/nodetap/nodetap/blob/main/README.md" \
      org.opencontainers.image.vendor="nodetap" \
      org.opencontainers.image.base.name="${RUNTIME_IMAGE}"
COPY --from=build /out/nodetap /out/timex.node /out/nvml.node /out/neigh.node /usr/bin/
COPY --from=build /out/licenses/ /usr/share/doc/nodetap/
# Non-root by default (distroless "nonroot"): enough to serve host metrics. The Helm chart runs it
# as uid 0 with every capability dropped, which pod and host log files need (chart/README.md).
USER 65532:65532
# Two glibc malloc arenas instead of one per thread (libuv's pool stats filesystems): about 8 MiB
# less RSS after scrapes. A fixed 128 KiB mmap threshold (glibc's default start, which it raises
# up to 32 MiB once such a block is freed): request bodies and zlib buffers go back to the
# kernel when freed instead of staying in the heap, 11-15 MiB less RSS after scrapes and while
# draining logs. Neither has a measurable cost (docs/benchmarks.md, "Memory").
# V8's young generation capped at 2 x 8 MiB semi-spaces: Node 24's own is far larger (a backlog
# drained at 199-234 MiB), and 8 against 16 MiB drains it 8-17 MiB lower and scrape bursts 7-27
# MiB lower at the same speed (docs/benchmarks.md, "Memory"). Keep it when setting NODE_OPTIONS
# for other flags. The binary adds these itself where they are missing (agent/runtime-settings.ts,
# whose values the image test checks against these); set here, it need not restart to apply them.
ENV MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 NODE_OPTIONS=--max-semi-space-size=8
EXPOSE 9100
ENTRYPOINT ["/usr/bin/nodetap"]
