#!/usr/bin/env bash
# Real Apptainer on Debian 12, for the singularity runtime's tests. Apptainer is not packaged for Debian 12;
# Debian sid has it (1.4.x) but needs sid's glibc, so this script
#   1. builds a `debootstrap --variant=minbase sid` root with apptainer installed in it, cached in
#      $EMFLOW_APPTAINER_ROOT (default /var/cache/emflow/apptainer-sid) and rebuilt only when it is missing,
#      incomplete or was made by another recipe (the marker file .emflow-recipe holds the recipe's hash);
#   2. configures that apptainer for this machine (cgroups without systemd; root's default capabilities are the
#      ones the VM's bounding set really has, so `apptainer exec` as root needs no --no-privs);
#   3. installs /usr/local/bin/apptainer (and /usr/local/bin/singularity), a wrapper (apptainer-wrapper.c) that
#      runs the sid apptainer in a private mount namespace pivoted into that root, with the host's user folders
#      at their own paths;
#   4. checks that apptainer answers and runs a tiny container with the flags the engine uses.
# Usage: bash test/infra/apptainer.sh          set up (fast when cached), exit non-zero with a reason on failure
#        bash test/infra/apptainer.sh check    also build a SIF and measure/verify what README.md reports
# Runs as root. Needs deb.debian.org only.
set -euo pipefail

ROOT="${EMFLOW_APPTAINER_ROOT:-/var/cache/emflow/apptainer-sid}"
MIRROR="${EMFLOW_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
WRAPPER=/usr/local/bin/apptainer
# host folders a user's files may live in, bound at the same path inside (plus the caller's own top folder)
USER_DIRS="/work /root /home /tmp /srv /mnt /opt /media /data /var/tmp"

die() { printf 'test/infra/apptainer.sh: FAILED: %s\n' "$*" >&2; exit 1; }
say() { printf 'apptainer.sh: %s\n' "$*"; }
now_ms() { date +%s%3N; }
# apt-get on the host, its output shown only when it fails
apt_host() {
  local out
  out="$(DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@" 2>&1)" || { printf '%s\n' "$out" | tail -20 >&2; return 1; }
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and /usr/local/bin/apptainer)"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported (found $(uname -m))"

# mounts below a path in this (the host's) mount namespace: there must never be any before a path is removed
mounts_under() { awk -v p="$1" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo; }
remove_tree() {
  local dir="$1"
  [ -e "$dir" ] || return 0
  if [ -n "$(mounts_under "$dir")" ]; then die "refusing to remove $dir: something is mounted below it: $(mounts_under "$dir" | tr '\n' ' ')"; fi
  rm -rf --one-file-system "$dir"
}

# ---- 1. the sid root -------------------------------------------------------------------------------------
# Everything that shapes the cached root is in build_root: its text (with the mirror) is the recipe's hash.
build_root() {
  local dir="$1" log="$2" t0
  t0=$(date +%s)
  # in a mount namespace of its own: the /proc and /sys debootstrap mounts vanish with it, even if it is killed
  unshare --mount --propagation private debootstrap --variant=minbase sid "$dir" "$MIRROR" >>"$log" 2>&1 \
    || { tail -25 "$log" >&2; die "debootstrap of Debian sid into $dir failed (log above, whole log in $log)"; }
  # no daemon may start inside; apt needs /proc, /dev and /sys: mounted in a mount namespace of its own too
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 755 "$dir/usr/sbin/policy-rc.d"
  echo "debootstrap: $(( $(date +%s) - t0 )) s"
  t0=$(date +%s)
  unshare --mount --propagation private /bin/bash -c '
    set -e
    dir=$1
    mount -t proc proc "$dir/proc"
    mount --rbind /dev "$dir/dev"
    mount --rbind /sys "$dir/sys"
    chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C DEBIAN_FRONTEND=noninteractive /bin/sh -ec "
      apt-get -o Acquire::Check-Valid-Until=false -o Acquire::Retries=3 update
      apt-get install -y --no-install-recommends apptainer e2fsprogs squashfuse fuse2fs
      apt-get clean
      rm -rf /var/lib/apt/lists/*
    "' apt-in-sid "$dir" >>"$log" 2>&1 \
    || { tail -25 "$log" >&2; die "installing apptainer inside the sid root failed (log above, whole log in $log)"; }
  [ -z "$(mounts_under "$dir")" ] || die "mounts were left below $dir after apt: $(mounts_under "$dir" | tr '\n' ' ')"
  [ -x "$dir/usr/bin/apptainer" ] || die "apt finished but $dir/usr/bin/apptainer is missing"
  echo "apt-get install apptainer inside: $(( $(date +%s) - t0 )) s"
  # mount points for the wrapper's binds (the wrapper also makes missing ones), and a loopback-only hosts file
  local d
  for d in $USER_DIRS /.oldroot; do mkdir -p "$dir$d"; done
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$dir/etc/hosts"
  touch "$dir/etc/passwd" "$dir/etc/group"
}

recipe_hash() { { declare -f build_root; echo "$MIRROR $USER_DIRS"; } | sha256sum | cut -c1-16; }

ensure_root() {
  local want; want="$(recipe_hash)"
  if [ -f "$ROOT/.emflow-recipe" ] && [ "$(cat "$ROOT/.emflow-recipe")" = "$want" ] && [ -x "$ROOT/usr/bin/apptainer" ]; then
    say "sid root $ROOT is cached (recipe $want)"
    return
  fi
  if [ -e "$ROOT" ]; then say "sid root $ROOT is incomplete or from another recipe: rebuilding"; fi
  command -v debootstrap >/dev/null && command -v mksquashfs >/dev/null \
    || { apt_host update -qq && apt_host install -y -qq debootstrap squashfs-tools; } \
    || die "apt-get install debootstrap squashfs-tools failed"
  local started tmp log
  started=$(now_ms)
  tmp="$ROOT.new.$$"
  log="$ROOT.build.log"
  : >"$log"
  remove_tree "$tmp"
  trap 'remove_tree "'"$tmp"'" || true' EXIT
  say "building the sid root in $tmp (debootstrap + apt-get install apptainer, a few minutes; log in $log)"
  build_root "$tmp" "$log"
  echo "$want" >"$tmp/.emflow-recipe"
  # swap in the complete root; the old one stays an hour for apptainer processes still running from it
  if [ -e "$ROOT" ]; then mv "$ROOT" "$ROOT.old.$$" && touch "$ROOT.old.$$"; fi
  mv "$tmp" "$ROOT"
  trap - EXIT
  say "sid root built in $(( ($(now_ms) - started) / 1000 )) s"
}

# ---- 2. configuration for this machine (cheap, every run) -------------------------------------------------
CAPS=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE
  NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN
  SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE
  MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)

set_conf() { # directive value: apptainer.conf must say `directive = value`
  local conf="$ROOT/etc/apptainer/apptainer.conf"
  grep -qx "$1 = $2" "$conf" && return
  grep -q "^$1 = " "$conf" || die "$conf has no '$1' directive (another apptainer version?)"
  sed -i "s|^$1 = .*|$1 = $2|" "$conf"
  grep -qx "$1 = $2" "$conf" || die "could not set '$1 = $2' in $conf"
}

configure() {
  # no systemd here: cgroup limits (--memory, --cpus) go through cgroupfs
  set_conf 'systemd cgroups' no
  # Apptainer gives root in a container every capability by default; this VM's bounding set lacks some
  # (CAP_SYS_RESOURCE), which makes every `exec` as root fail ("Requesting capability set ... while permitted
  # capability set is ..."). Root's default set comes from capability.json instead: all that the VM has.
  local bnd keep=() missing=() i json
  bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
  for i in "${!CAPS[@]}"; do
    if (( (bnd >> i) & 1 )); then keep+=("\"CAP_${CAPS[$i]}\""); else missing+=("CAP_${CAPS[$i]}"); fi
  done
  json="{\"users\": {\"root\": [$(IFS=,; echo "${keep[*]}")]}, \"groups\": {}}"
  if [ "$(cat "$ROOT/etc/apptainer/capability.json" 2>/dev/null)" != "$json" ]; then
    printf '%s' "$json" >"$ROOT/etc/apptainer/capability.json.new"
    mv "$ROOT/etc/apptainer/capability.json.new" "$ROOT/etc/apptainer/capability.json"
  fi
  set_conf 'root default capabilities' file
  say "capabilities the VM withholds from root (dropped from root's default set): ${missing[*]:-none}"
}

# ---- 3. the wrapper -------------------------------------------------------------------------------------
# A small C program (apptainer-wrapper.c): one process that makes the namespace, binds, pivots and execs
# apptainer. A shell doing the same with mount(8) spent ~300 ms per call on a loaded machine.
install_wrapper() {
  local source id new="$WRAPPER.new.$$" dirs
  source="$(dirname "$0")/apptainer-wrapper.c"
  [ -f "$source" ] || die "$source is missing"
  dirs="$(echo $USER_DIRS | tr ' ' ':')"
  id="$({ cat "$source"; echo "$ROOT $dirs"; } | sha256sum | cut -c1-16)"
  if ! [ -x "$WRAPPER" ] || ! grep -qa "emflow-apptainer-wrapper $id" "$WRAPPER"; then
    command -v cc >/dev/null || { apt_host update -qq && apt_host install -y -qq gcc libc6-dev; } || die "apt-get install gcc failed"
    mkdir -p "$(dirname "$WRAPPER")"
    cc -O2 -Wall -Werror -o "$new" "$source" -DEMFLOW_ROOT="\"$ROOT\"" -DEMFLOW_DIRS="\"$dirs\"" -DEMFLOW_BUILD_ID="\"$id\"" \
      || { rm -f "$new"; die "compiling $source failed"; }
    chmod 755 "$new"
    mv "$new" "$WRAPPER"
    say "installed $WRAPPER (wrapper $id)"
  fi
  # the engine looks for `apptainer`, then `singularity`: the second name is the same wrapper (it runs sid's
  # /usr/bin/singularity, apptainer under its old name); nothing else on this machine provides it
  if [ "$(readlink /usr/local/bin/singularity 2>/dev/null)" != apptainer ]; then
    if [ -e /usr/local/bin/singularity ] && [ ! -L /usr/local/bin/singularity ]; then
      say "leaving /usr/local/bin/singularity alone: it is not our symlink"
    else
      ln -sfn apptainer /usr/local/bin/singularity
    fi
  fi
}

# ---- 4. checks -------------------------------------------------------------------------------------------
# A tiny image (the host's /bin/sh and its libraries, as a sandbox folder) run with the engine's flags: a
# broken namespace, capability or bind setup fails here, not in the tests.
smoke() {
  local dir started out lib
  dir="$(mktemp -d /tmp/emflow-apptainer-smoke.XXXXXX)"
  mkdir -p "$dir/image/"{bin,dev,proc,sys,tmp,etc,root,home} "$dir/session"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/image/etc/passwd"
  echo 'root:x:0:' >"$dir/image/etc/group"
  cp /bin/sh "$dir/image/bin/sh"
  for lib in $(ldd /bin/sh | grep -o '/[^ ]*'); do mkdir -p "$dir/image$(dirname "$lib")"; cp -L "$lib" "$dir/image$lib"; done
  started=$(now_ms)
  out="$(cd "$dir" && "$WRAPPER" exec --containall --cleanenv --no-home --net --network none \
    --bind "$dir/session:/emflow/session" image /bin/sh -c 'echo ok >/emflow/session/written; echo inside' 2>&1)" \
    || { rm -rf "$dir"; die "apptainer exec of a tiny container failed: $out"; }
  [ "$(cat "$dir/session/written" 2>/dev/null)" = ok ] || { rm -rf "$dir"; die "apptainer exec ran ($out) but its write to a bound folder is not seen by the host"; }
  say "apptainer exec --containall --net --network none with a bind: ok ($(( $(now_ms) - started )) ms)"
  rm -rf "$dir"
}

started=$(now_ms)
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
flock -w 1800 9 || die "another apptainer.sh has held $ROOT.lock for 30 min"
# leftovers of runs killed half-way (the lock says none is running now), roots replaced over an hour ago
for stale in "$ROOT".new.*; do if [ -e "$stale" ]; then remove_tree "$stale"; fi; done
for stale in "$ROOT".old.*; do if [ -n "$(find "$stale" -maxdepth 0 -mmin +60 2>/dev/null)" ]; then remove_tree "$stale"; fi; done
ensure_root
configure
install_wrapper
hash -r
version="$("$WRAPPER" --version 2>&1)" || die "$WRAPPER --version failed: $version"
[ "$(command -v apptainer)" = "$WRAPPER" ] || die "the apptainer first on PATH is '$(command -v apptainer)', not $WRAPPER (PATH=$PATH)"
say "$version ($WRAPPER)"
smoke
say "ready in $(( $(now_ms) - started )) ms"

[ "${1:-}" = check ] || exit 0
exec 9>&-
exec bash "$(dirname "$0")/apptainer-check.sh"
