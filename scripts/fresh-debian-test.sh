#!/usr/bin/env bash
# `make test` as a newcomer meets it: on a fresh Debian 12 (a `debootstrap --variant=minbase
# bookworm` chroot under var/fresh) that has only python3, python3-venv, make, git and
# ca-certificates, as root, in a `git clone` of this repository's committed HEAD.
#
#   scripts/fresh-debian-test.sh            # make test
#   scripts/fresh-debian-test.sh run-help   # any other make target(s) instead
#   FRESH_KEEP=1 …                          # keep var/fresh/root afterwards, to look inside
#   scripts/fresh-debian-test.sh --base-only  # only build var/fresh/base (podman-test.sh)
#   FRESH_OFFLINE=1 …                       # no network at all (unshare -n): make must
#                                           # stop with one line naming the registry
#
# Honesty about the database: a chroot shares the host's network, so the host's PostgreSQL
# on 127.0.0.1:5432 answers inside it. The run sets PG_PRIVATE=1 and PG_PRIVATE_PORT=5439,
# so provision-db.sh installs PostgreSQL + PostGIS with apt inside the chroot and starts
# its own private cluster, as on a machine with no server. Everything else the tests need
# (Node.js, npm packages, Chromium, PostGIS) is installed by the repository's own scripts.
#
# The base system (debootstrap plus those five packages, with Debian's updates) is kept in
# var/fresh/base and copied for each run; delete it to start from debootstrap again.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
fresh=$repo/var/fresh
base=$fresh/base
root=$fresh/root
log() { echo "fresh-debian: $*" >&2; }

[ "$(id -u)" = 0 ] || { log "run as root (debootstrap, chroot and mounts need it)"; exit 1; }
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(test)

if ! command -v debootstrap >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  python3 scripts/preflight.py fetch apt -- apt-get update -qq
  python3 scripts/preflight.py fetch apt -- apt-get install -y -qq debootstrap
fi

# The Debian mirror the host's apt uses (deb822 or one-line format), else Debian's CDN.
mirror=$(sed -n 's/^URIs: *\(\S*\/debian\/\?\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
security=$(sed -n 's/^URIs: *\(\S*debian-security\/\?\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
security=${security:-http://deb.debian.org/debian-security}

mounted=()
cleanup() {
  # Stop what the run left running inside the chroot (its private PostgreSQL cluster,
  # a stray browser), then unmount in reverse order.
  for proc in /proc/[0-9]*; do
    if [ "$(readlink "$proc/root" 2>/dev/null)" = "$root" ]; then
      kill -TERM "${proc#/proc/}" 2>/dev/null || true
    fi
  done
  sleep 1
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
    umount -l "${mounted[$i]}" 2>/dev/null || true
  done
  if [ "${FRESH_KEEP:-0}" != 1 ] && ! findmnt -rn -o TARGET | grep -q "^$root/"; then
    rm -rf "$root"
  fi
}
trap cleanup EXIT

if [ ! -f "$base/.complete" ]; then
  rm -rf "$base"
  log "debootstrap --variant=minbase bookworm from $mirror (a few minutes)"
  debootstrap --variant=minbase --include=python3,python3-venv,make,git,ca-certificates \
    bookworm "$base" "$mirror" > "$fresh/debootstrap.log" 2>&1 \
    || { log "debootstrap failed; see $fresh/debootstrap.log"; exit 1; }
  # A Debian 12 installed from the installer gets bookworm-updates and the security
  # archive too (Chromium, for one, is updated only there).
  rm -f "$base/etc/apt/sources.list"
  cat > "$base/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  cp /etc/resolv.conf "$base/etc/resolv.conf"
  chroot "$base" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    sh -c 'apt-get update -qq && apt-get upgrade -y -qq && apt-get clean' >> "$fresh/debootstrap.log" 2>&1
  touch "$base/.complete"
fi

if [ "${targets[0]}" = --base-only ]; then
  trap - EXIT
  exit 0
fi

if findmnt -rn -o TARGET | grep -q "^$root/"; then
  log "$root still has mounts from an earlier run; unmount them first (umount -R)"; exit 1
fi
rm -rf "$root"
log "copying the base system to $root"
cp -a "$base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# As in a container: packages never start services in the chroot (Debian's own
# PostgreSQL cluster would start with the chroot's processes and outlive the run).
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod 0755 "$root/usr/sbin/policy-rc.d"

# A network whose HTTPS goes through an inspecting proxy (as on the machine this was
# written on) needs its CA trusted, as every machine on that network would: the host's
# local CAs go into the chroot's store, and the clients are pointed at that store
# (pip in a venv and Node.js use their own CA lists otherwise).
tls_env=()
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" /usr/sbin/update-ca-certificates >/dev/null 2>&1
  bundle=/etc/ssl/certs/ca-certificates.crt
  tls_env=(PIP_CERT=$bundle NODE_EXTRA_CA_CERTS=$bundle SSL_CERT_FILE=$bundle REQUESTS_CA_BUNDLE=$bundle)
  log "the host trusts local CAs (/usr/local/share/ca-certificates): so does the chroot"
fi

rev=$(git rev-parse --short HEAD)
[ -z "$(git status --porcelain --untracked-files=no)" ] || log "note: uncommitted changes are not tested (HEAD $rev is)"
git clone -q --no-hardlinks "$repo" "$root/root/gridpatrol"

mount -t proc proc "$root/proc"; mounted+=("$root/proc")
mount -t sysfs sys "$root/sys"; mounted+=("$root/sys")
mount --bind /dev "$root/dev"; mounted+=("$root/dev")
mount -t devpts -o newinstance devpts "$root/dev/pts" 2>/dev/null && mounted+=("$root/dev/pts") || true
mount -t tmpfs -o mode=1777,size=2g shm "$root/dev/shm"; mounted+=("$root/dev/shm")

log "make ${targets[*]} at $rev, as root in a clean environment"
start=$(date +%s)
set +e
offline=()
[ "${FRESH_OFFLINE:-0}" != 1 ] || offline=(unshare --net)
"${offline[@]}" chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
  PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  PG_PRIVATE=1 PG_PRIVATE_PORT=5439 "${tls_env[@]}" \
  bash -c 'cd /root/gridpatrol && make "$@"' make "${targets[@]}" 2>&1 | tee "$fresh/make.log"
status=${PIPESTATUS[0]}
set -e
took=$(( $(date +%s) - start ))
log "make ${targets[*]} at $rev: exit $status after $((took / 60)) min $((took % 60)) s (log: var/fresh/make.log)"
exit "$status"
