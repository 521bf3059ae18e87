#!/bin/sh
# make_certs.sh DIR: creates the test PKI used by fake_apiserver.py and the integration tests.
#
# Files written to DIR (EC P-256 keys, valid 10 years):
#   ca.crt/ca.key                      cluster CA (signs the API server, admin and user certs)
#   server.crt/server.key              serving cert, SAN IP:127.0.0.1, DNS:localhost, signed by ca
#   admin.crt/admin.key                client cert CN=metrics-adapter O=system:serviceaccounts (ca)
#   user-client.crt/user-client.key    client cert CN=jane O=devs (ca): an x509 user for --client-ca-file
#   front-proxy-ca.crt/.key            requestheader CA
#   front-proxy-client.crt/.key        CN=front-proxy-client, clientAuth, signed by front-proxy-ca
#   front-proxy-other.crt/.key         CN=someone-else, clientAuth, signed by front-proxy-ca
#   rogue-ca.crt/.key                  an unrelated CA
#   rogue-client.crt/.key              CN=front-proxy-client signed by rogue-ca (must be rejected)
#
# Idempotent: when every file already exists nothing is done. Otherwise the whole set is made in
# a private temporary directory and moved into DIR; concurrent runs on one DIR are serialised with
# flock, so they never mix two PKIs.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
files="ca.crt ca.key server.crt server.key admin.crt admin.key user-client.crt user-client.key
front-proxy-ca.crt front-proxy-ca.key front-proxy-client.crt front-proxy-client.key
front-proxy-other.crt front-proxy-other.key rogue-ca.crt rogue-ca.key rogue-client.crt rogue-client.key"

# complete: true when every file of the set exists and is non-empty.
complete() {
  for f in $files; do
    [ -s "$dir/$f" ] || return 1
  done
  return 0
}

complete && exit 0
mkdir -p "$dir"
# Serialise concurrent runs on the same DIR (flock from util-linux when available), then re-check.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dir/.make_certs.lock"
  flock 9
  complete && exit 0
fi
tmp=$(mktemp -d "$dir/.make_certs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
days=3650

# new_key NAME: an EC P-256 private key in $tmp/NAME.key (PKCS#8 PEM).
new_key() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/$1.key" 2>/dev/null
}

# new_ca NAME CN: a self-signed CA certificate.
new_ca() {
  new_key "$1"
  openssl req -x509 -new -key "$tmp/$1.key" -subj "/CN=$2" -days "$days" -out "$tmp/$1.crt" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# new_leaf NAME SUBJECT CA EXTENSIONS: a certificate for NAME signed by CA.
new_leaf() {
  new_key "$1"
  printf '%s\n' "$4" > "$tmp/$1.ext"
  openssl req -new -key "$tmp/$1.key" -subj "$2" -out "$tmp/$1.csr" 2>/dev/null
  openssl x509 -req -in "$tmp/$1.csr" -CA "$tmp/$3.crt" -CAkey "$tmp/$3.key" -CAcreateserial \
    -days "$days" -extfile "$tmp/$1.ext" -out "$tmp/$1.crt" 2>/dev/null
  rm -f "$tmp/$1.csr" "$tmp/$1.ext"
}

client_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
server_ext="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"

new_ca ca "fake-kubernetes-ca"
new_ca front-proxy-ca "fake-front-proxy-ca"
new_ca rogue-ca "rogue-ca"
new_leaf server "/CN=kube-apiserver" ca "$server_ext"
new_leaf admin "/O=system:serviceaccounts/CN=metrics-adapter" ca "$client_ext"
new_leaf user-client "/O=devs/CN=jane" ca "$client_ext"
new_leaf front-proxy-client "/CN=front-proxy-client" front-proxy-ca "$client_ext"
new_leaf front-proxy-other "/CN=someone-else" front-proxy-ca "$client_ext"
new_leaf rogue-client "/CN=front-proxy-client" rogue-ca "$client_ext"

chmod 600 "$tmp"/*.key
for f in $files; do
  mv -f "$tmp/$f" "$dir/$f"
done
