#!/usr/bin/env bash
# Assembles a real OpenSearch node from Maven Central (org.opensearch:opensearch and the
# transport-netty4 HTTP plugin, pinned OPENSEARCH_VERSION) plus a tiny main class
# (test/fixtures/sinks/opensearch/NodetapOpenSearch.java) into $CACHE/opensearch-<version>/:
# lib/*.jar, classes/, and bin/opensearch-node (`opensearch-node key=value...` runs one node on
# the machine's Java 17). Idempotent. Prints the launcher path on stdout. Usage: testenv-sinks-opensearch.sh [--check]
source "$(dirname "$0")/testenv-lib.sh"
source "$(dirname "$0")/testenv-sinks-versions.sh"

dest="$CACHE/opensearch-$OPENSEARCH_VERSION"
main_src="$REPO_ROOT/test/fixtures/sinks/opensearch/NodetapOpenSearch.java"
stamp="$(sha256sum "$main_src" | cut -c1-16)"
if [ -x "$dest/bin/opensearch-node" ] && [ "$(cat "$dest/.source-hash" 2>/dev/null)" = "$stamp" ]; then
  echo "$dest/bin/opensearch-node"
  exit 0
fi
# --check: only say whether the cached build is there (exit 3 when not); tests never build a peer.
[ "${1:-}" = --check ] && exit 3
command -v java >/dev/null && command -v javac >/dev/null || apt_install openjdk-17-jdk-headless
command -v mvn >/dev/null || apt_install maven
start=$(date +%s)
tmp="$(mktemp -d "$CACHE/.opensearch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.nodetap.testenv</groupId>
  <artifactId>opensearch-node</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.opensearch</groupId><artifactId>opensearch</artifactId><version>$OPENSEARCH_VERSION</version></dependency>
    <dependency><groupId>org.opensearch.plugin</groupId><artifactId>transport-netty4-client</artifactId><version>$OPENSEARCH_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$OPENSEARCH_LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
log "fetching OpenSearch $OPENSEARCH_VERSION modules from Maven Central"
( cd "$tmp" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib >&2 )
rm "$tmp/pom.xml"
mkdir -p "$tmp/classes" "$tmp/bin"
javac -d "$tmp/classes" -cp "$tmp/lib/*" "$main_src"
cat >"$tmp/bin/opensearch-node" <<'LAUNCHER'
#!/usr/bin/env bash
# Runs one OpenSearch node: opensearch-node key=value... (node settings). JAVA_OPTS adds JVM flags.
here="$(cd "$(dirname "$0")/.." && pwd)"
exec java ${JAVA_OPTS:--Xms256m -Xmx512m} -XX:+UseSerialGC -Dlog4j2.disable.jmx=true -cp "$here/lib/*:$here/classes" NodetapOpenSearch "$@"
LAUNCHER
chmod +x "$tmp/bin/opensearch-node"
echo "$stamp" >"$tmp/.source-hash"
publish "$tmp" "$dest"
trap - EXIT
log "opensearch $OPENSEARCH_VERSION node ready in $(( $(date +%s) - start ))s"
echo "$dest/bin/opensearch-node"
