#!/usr/bin/env bash
# Builds the image from the repository's Dockerfile for real, with buildah (chroot isolation, no
# daemon), on the local stand-in base images made by testenv-base-images.sh:
#   BUILD_IMAGE=localhost/node:<major>-bookworm-slim  RUNTIME_IMAGE=localhost/distroless-cc:debian12-nonroot
# and tags it localhost/nodetap:ci-<hash of the build context>, so that a build is reused until a
# file of the context (.dockerignore's allow-list) changes. Idempotent.
#   testenv-image.sh              build if needed; prints IMAGE=<tag>
#   testenv-image.sh --print-tag  only print the tag the current tree should have
# The machine's own arch only (amd64 here): Debian's buildah 1.28 resolves a multi-stage build's later FROM images for the wrong
# platform when --platform differs from the build stage's (so `--platform linux/arm64` fails on local
# bases); the Dockerfile's arm64 path is the same build-binary.sh call, and the arm64 binary is built
# and checked by `npm run build:binary` / test/packaging/binary.test.ts. Use docker buildx (or a newer
# buildah) with --platform linux/arm64 for the arm64 image.
source "$(dirname "$0")/testenv-lib.sh"
cd "$REPO_ROOT"

# The build context, as .dockerignore allows it: the same list, hashed with contents and modes.
context_files() {
  printf '%s\n' Dockerfile .dockerignore package.json package-lock.json tsconfig.json \
    scripts/bundle.sh scripts/build-binary.sh scripts/build-native.sh scripts/testenv-lib.sh scripts/testenv-versions.sh scripts/testenv-node-tools.sh
  find agent native scripts/bundle-shims -type f | LC_ALL=C sort
}
context_hash() {
  context_files | while IFS= read -r f; do printf '%s %s %s\n' "$f" "$(stat -c %a "$f")" "$(sha256sum <"$f" | cut -c1-64)"; done |
    sha256sum | cut -c1-16
}
tag="localhost/nodetap:ci-$(context_hash)"
if [ "${1:-}" = "--print-tag" ]; then echo "$tag"; exit 0; fi

bash scripts/testenv-base-images.sh >/dev/null
node_major="${NODE_LTS_VERSION%%.*}"
revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
created="$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)"
version="$(node -p 'require("./package.json").version')"
# The build stage fetches npm packages; it trusts what this machine trusts (a TLS-intercepting
# proxy's CA included) through the optional build secret.
ca="${IMAGE_BUILD_CA:-/etc/ssl/certs/ca-certificates.crt}"
secret=()
[ -s "$ca" ] && secret=(--secret "id=build_ca,src=$ca")

arch="$(podman info --format '{{.Host.Arch}}')"
if ! podman image exists "$tag"; then
  log "buildah bud $tag (linux/$arch)"
  # BUILDPLATFORM is passed because buildah 1.28 sets it to the target platform.
  buildah bud --isolation chroot --layers --pull-never --format oci \
    --platform "linux/$arch" --build-arg "TARGETARCH=$arch" --build-arg "BUILDPLATFORM=linux/$arch" \
    --build-arg "BUILD_IMAGE=localhost/node:$node_major-$DEBIAN_SUITE-slim" \
    --build-arg "RUNTIME_IMAGE=localhost/distroless-cc:debian12-nonroot" \
    --build-arg "REVISION=$revision" --build-arg "VERSION=$version" --build-arg "CREATED=$created" \
    "${secret[@]}" -f Dockerfile -t "$tag" . >&2
fi
echo "IMAGE=$tag"
# Keep the store small: earlier ci-* builds of this repository, and build layers older than a day, go.
podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/nodetap:ci-' | grep -vx "$tag" | xargs -r podman rmi -f >/dev/null 2>&1 || true
podman image prune -f --filter until=24h >/dev/null 2>&1 || true
