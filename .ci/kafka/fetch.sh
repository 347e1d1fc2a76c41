#!/usr/bin/env bash
# Fetch the Apache Kafka broker jars listed in pom.xml into lib/ (the broker's classpath).
# Idempotent: does nothing when lib/ already holds a complete fetch of the current pom.xml.
# Needs Java 17+ and Maven; Maven Central must be reachable (cached in ~/.m2 afterwards).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lib="$here/lib"
stamp="$lib/.fetched"
want="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && compgen -G "$lib/kafka_2.13-*.jar" >/dev/null; then
    echo "kafka jars already in $lib"
    exit 0
fi

command -v mvn >/dev/null || { echo "fetch.sh: mvn not found (install Maven 3.8+)" >&2; exit 1; }
command -v java >/dev/null || { echo "fetch.sh: java not found (install a JDK 17+)" >&2; exit 1; }

# Fetch into a scratch folder and swap it in, so an interrupted run never leaves a half lib/.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp/lib" -DincludeScope=runtime
echo "$want" >"$tmp/lib/.fetched"
rm -rf "$lib"
mv "$tmp/lib" "$lib"
echo "kafka jars fetched into $lib ($(ls "$lib"/*.jar | wc -l) jars)"
