#!/bin/sh
# GraphiQL's page assets, from npm (versions pinned by package-lock.json beside this script): installs
# graphiql, react and react-dom here, then copies the built bundles the page loads, with their licences,
# into DEST (default: api/static/vendor, which the API serves; not committed). `make install` and the
# Dockerfile run it; nothing is fetched when the page is served.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dest=${1:-"$here/../../api/static/vendor"}
npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >/dev/null
modules="$here/node_modules"
mkdir -p "$dest"
cp "$modules/react/umd/react.production.min.js" \
   "$modules/react-dom/umd/react-dom.production.min.js" \
   "$modules/graphiql/graphiql.min.js" \
   "$modules/graphiql/graphiql.min.css" \
   "$dest/"
for package in react react-dom graphiql; do
  cp "$modules/$package/LICENSE" "$dest/$package.LICENSE"
done
