#!/usr/bin/env bash
# Fetches a real Apache Kafka broker (the official jars from Maven Central, no tarball: only the package
# registries are reachable) for the end-to-end tests, into a cache outside the clone keyed by version so
# reruns and fresh clones (CI) reuse it. Prints the libs dir (put "libs/*" on the java classpath) on stdout
# as the last line; everything else goes to stderr.
set -euo pipefail

# Kafka 4.x is KRaft-only and needs Java 17, which is what the machine has; the version is in versions.sh.
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
. "$HERE/versions.sh"
SCALA_VERSION="2.13"
DEP_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"   # pinned: Maven 3.8's default (2.8) is ancient
CACHE="$WS2OTEL_CACHE"
DEST="$CACHE/kafka-$KAFKA_VERSION"
LIBS="$DEST/libs"
STAMP="$DEST/.complete"   # written last, so a half-done fetch is redone rather than trusted

if [ -f "$STAMP" ] && [ -d "$LIBS" ]; then echo "$LIBS"; exit 0; fi

command -v mvn >/dev/null || { echo "kafka-fetch: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "kafka-fetch: java not found (Kafka $KAFKA_VERSION needs Java 17+)" >&2; exit 1; }

echo "fetching Kafka $KAFKA_VERSION jars with Maven into $LIBS" >&2
mkdir -p "$DEST"
# A throwaway pom whose only purpose is to list what the broker, the storage formatter and the tools need
# at run time; copy-dependencies then resolves the transitive runtime closure.
# kafka_2.13 : kafka.Kafka (the broker main) and kafka.tools.StorageTool (format), pulls server/raft/metadata/...
# kafka-tools: org.apache.kafka.tools.TopicCommand, ConsoleProducer, consumer.ConsoleConsumer
#   (minus Kafka Connect's runtime, which only the connect-plugin-path tool uses: it drags in Jetty/Jersey)
# log4j-core + log4j-slf4j2-impl + slf4j-api 2.x: Kafka 4 logs through slf4j to log4j2 but its poms leave
#   the backend out and pin slf4j-api 1.7 (which cannot see an slf4j2 provider): without these three the
#   broker logs nothing at all.
cat > "$DEST/pom.xml" <<POM
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>ws2otel.local</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>$KAFKA_VERSION</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$SCALA_VERSION</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version>
      <exclusions><exclusion><groupId>org.apache.kafka</groupId><artifactId>connect-runtime</artifactId></exclusion></exclusions></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>2.24.3</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
POM

rm -rf "$LIBS.tmp"
# The Maven local repo lives in the same cache (not ~/.m2): one folder to keep in CI or delete to start over,
# and nothing of this project's test tooling leaks into the developer's own ~/.m2.
# -U: a download cut short earlier leaves a *.lastUpdated marker that Maven would otherwise trust as
# "not found" until its update interval passes.
mvn -B -q -U -Dstyle.color=never -f "$DEST/pom.xml" \
  -Dmaven.repo.local="$CACHE/m2" \
  "$DEP_PLUGIN:copy-dependencies" \
  -DincludeScope=runtime -DoutputDirectory="$LIBS.tmp" >&2

# Sanity check: the main classes the start script uses must be on this classpath.
for cls in kafka.Kafka kafka.tools.StorageTool org.apache.kafka.tools.TopicCommand; do
  f="${cls//./\/}.class"
  found=""
  for j in "$LIBS.tmp"/*.jar; do
    if unzip -l "$j" "$f" >/dev/null 2>&1; then found=1; break; fi
  done
  [ -n "$found" ] || { echo "kafka-fetch: $cls not found in the fetched jars" >&2; exit 1; }
done

rm -rf "$LIBS"
mv "$LIBS.tmp" "$LIBS"
touch "$STAMP"
echo "$LIBS"
