#!/bin/sh
# The web pages' third-party code, from npm (versions pinned by package-lock.json beside this script):
# installs graphiql, react and react-dom (the GraphiQL page) and cytoscape (the console's graph drawings)
# here, then copies the built bundles the pages load, with their licences, into DEST (default:
# api/static/vendor, which the API serves; not committed). `make install` and the Dockerfile run it;
# nothing is fetched when a page is served.
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
# An ES module; copied as .js so every server gives it a JavaScript content type.
cp "$modules/cytoscape/dist/cytoscape.esm.min.mjs" "$dest/cytoscape.esm.min.js"
for package in react react-dom graphiql cytoscape; do
  cp "$modules/$package/LICENSE" "$dest/$package.LICENSE"
done
