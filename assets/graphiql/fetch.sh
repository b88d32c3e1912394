#!/usr/bin/env bash
# Re-creates the vendored GraphiQL files from the npm registry at the pinned versions, checking
# each package's published integrity. Run from anywhere; needs npm. The gateway embeds these
# files at build time (src/http/graphiql.rs), so a browser needs no network beyond the gateway.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

fetch() { # name version integrity
  local tarball
  tarball="$(npm pack --silent "$1@$2")"
  local actual
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$3" ]; then
    echo "$1@$2: integrity $actual, expected $3" >&2
    exit 1
  fi
  mkdir -p "$1" && tar xzf "$tarball" -C "$1"
}

fetch graphiql 4.1.2 'sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg=='
fetch react 18.3.1 'sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=='
fetch react-dom 18.3.1 'sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw=='

cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$here/"
cp graphiql/package/LICENSE "$here/LICENSE-graphiql"
cp react/package/umd/react.production.min.js "$here/"
cp react/package/LICENSE "$here/LICENSE-react"
cp react-dom/package/umd/react-dom.production.min.js "$here/"
cp react-dom/package/LICENSE "$here/LICENSE-react-dom"
# Source maps point at files that are not shipped; browsers would ask the gateway for them.
sed -i '/^\/\/# sourceMappingURL=/d' "$here/graphiql.min.js"
sed -i 's|/\*# sourceMappingURL=[^*]*\*/||' "$here/graphiql.min.css"
echo "vendored into $here"
