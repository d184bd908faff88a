#!/bin/sh
# Copies GraphiQL 3 and React 18's UMD builds from the npm registry into $1.
set -eu
dest=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund graphiql@3.9.0 react@18.3.1 react-dom@18.3.1 >/dev/null)
mkdir -p "$dest"
cp "$work/node_modules/react/umd/react.production.min.js" "$dest/"
cp "$work/node_modules/react-dom/umd/react-dom.production.min.js" "$dest/"
cp "$work/node_modules/graphiql/graphiql.min.js" "$work/node_modules/graphiql/graphiql.min.css" "$dest/"
echo "GraphiQL assets in $dest"
