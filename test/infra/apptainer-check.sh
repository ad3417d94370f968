#!/usr/bin/env bash
# Verifies and measures the apptainer that test/infra/apptainer.sh installed (run through it:
# `bash test/infra/apptainer.sh check`, ~1-2 min). Exits non-zero when something the engine relies on does not
# work; limitations this machine is known to have are printed as "limit", not failures. README.md reports them.
set -uo pipefail
[ "$(id -u)" = 0 ] || { echo "apptainer-check.sh: run as root" >&2; exit 1; }

failures=0
ok() { printf '  ok     %s\n' "$*"; }
bad() { printf '  FAILED %s\n' "$*"; failures=$((failures + 1)); }
limit() { printf '  limit  %s\n' "$*"; }
now_ms() { date +%s%3N; }
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work/home" "$@"; }

work="$(mktemp -d /tmp/emflow-apptainer-check.XXXXXX)"
shm="$(mktemp -d /dev/shm/emflow-apptainer-check.XXXXXX)"
cleanup() { rm -rf "$work" "$shm"; }
trap cleanup EXIT
chmod 755 "$work"
cd "$work"
mkdir home && chown 65534:65534 home

echo "== version"
apptainer --version && ok "apptainer --version" || bad "apptainer --version"

echo "== build: Bootstrap scratch, %files = this machine's node and the libraries ldd lists (as images.ts does)"
mkdir -p root/usr/bin root/etc
cp /usr/bin/node root/usr/bin/node
for lib in $(ldd /usr/bin/node | grep -o '/[^ ]*'); do mkdir -p "root$(dirname "$lib")"; cp -L "$lib" "root$lib"; done
printf 'root:x:0:0:root:/root:/bin/false\nnobody:x:65534:65534:nobody:/tmp:/bin/false\n' >root/etc/passwd
printf 'root:x:0:\nnogroup:x:65534:\n' >root/etc/group
{
  printf 'Bootstrap: scratch\n\n%%files\n'
  # /etc exists in every image: `root/etc /etc` would land in /etc/etc, so its files are copied one by one
  for entry in root/*; do
    if [ "$entry" = root/etc ]; then printf '    %s/* /etc/\n' "$work/$entry"; else printf '    %s /%s\n' "$work/$entry" "${entry#root/}"; fi
  done
  printf '\n%%labels\n    emflow.operator check-node\n    emflow.spec {"name":"check","version":"1.0.0"}\n'
  printf '\n%%runscript\n    exec /usr/bin/node "$@"\n'
} >node.def
started=$(now_ms)
if apptainer -q build node.sif node.def; then ok "apptainer build node.sif ($(( $(now_ms) - started )) ms, $(du -m node.sif | cut -f1) MB)"; else bad "apptainer build"; fi
chmod 644 node.sif
labels="$(apptainer inspect --labels --json node.sif)"
if node -e 'const l = JSON.parse(process.argv[1]).data.attributes.labels; if (l["emflow.operator"] !== "check-node" || JSON.parse(l["emflow.spec"]).version !== "1.0.0") process.exit(1)' "$labels"; then
  ok "apptainer inspect --labels --json gives the %labels back"
else bad "labels: $labels"; fi

echo "== exec with the engine's containment and a bound session folder"
flags=(--containall --cleanenv --no-home)
mkdir -p "$shm/node"
out="$(apptainer exec "${flags[@]}" --bind "$shm:/emflow/session:ro" --bind "$shm/node:/emflow/session/node:rw" node.sif \
  /usr/bin/node -e 'require("fs").writeFileSync("/emflow/session/node/out", "from " + process.getuid()); console.log(require("fs").readdirSync("/dev/shm").length)' 2>&1)"
if [ "$(cat "$shm/node/out" 2>/dev/null)" = "from 0" ]; then ok "exec --containall, bound /dev/shm folder written inside, seen by the host (container /dev/shm has $out entries)"; else bad "exec with binds: $out"; fi
if apptainer exec "${flags[@]}" --no-privs --bind "$shm:/emflow/session" node.sif /usr/bin/node -e 0; then ok "exec with --no-privs as well"; else bad "exec --no-privs"; fi
out="$(apptainer exec "${flags[@]}" --bind "$shm:$shm" node.sif /usr/bin/node -e 0 2>&1)" \
  && ok "bind to the same /dev/shm path inside" || limit "with --contain(all), a bind whose destination is under /dev fails: $(echo "$out" | grep -o "destination [^ ]* doesn't exist in container" | head -1)"
out="$(apptainer run "${flags[@]}" node.sif -e 'console.log(1)' 2>&1)" \
  && ok "apptainer run (runscript) of an image without /bin/sh" || limit "apptainer run needs /bin/sh in the image (the runscript is a sh script): $(echo "$out" | tail -1)"
out="$(apptainer exec "${flags[@]}" --keep-privs node.sif /usr/bin/node -e 0 2>&1)" \
  && ok "--keep-privs" || limit "--keep-privs as root fails (full capability set requested, the VM withholds CAP_SYS_RESOURCE)"

echo "== timings (cold exec = a new apptainer process that starts node -e 0 and exits)"
times=()
for _ in 1 2 3 4 5 6 7; do
  started=$(now_ms)
  apptainer exec "${flags[@]}" --bind "$shm:/emflow/session" node.sif /usr/bin/node -e 0 || bad "exec"
  times+=($(( $(now_ms) - started )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
ok "cold exec: median ${sorted[3]} ms (all: ${times[*]}; load $(cut -d' ' -f1 /proc/loadavg))"
times=()
for _ in 1 2 3 4 5; do started=$(now_ms); apptainer --version >/dev/null; times+=($(( $(now_ms) - started ))); done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
ok "apptainer --version: median ${sorted[2]} ms"

echo "== signals reach the container (the wrapper's PID is apptainer's)"
set -m # background jobs of a non-interactive shell would ignore SIGINT
for signal in TERM INT KILL; do
  apptainer exec "${flags[@]}" node.sif /usr/bin/node -e 'process.title = "emflowsleeper"; setInterval(() => {}, 1000)' &
  pid=$!
  for _ in $(seq 1 100); do pgrep -x emflowsleeper >/dev/null && break; sleep 0.1; done
  pgrep -x emflowsleeper >/dev/null || bad "SIG$signal: the container did not start within 10 s"
  comm="$(cat /proc/$pid/comm 2>/dev/null)"
  kill -s "$signal" "$pid"
  wait "$pid"
  status=$?
  sleep 0.5
  if pgrep -x emflowsleeper >/dev/null; then bad "SIG$signal: container processes are left: $(pgrep -ax emflowsleeper)"; kill -KILL $(pgrep -x emflowsleeper)
  else ok "SIG$signal to the wrapper's pid (now '$comm'): exit $status, nothing left"; fi
done
set +m
apptainer exec "${flags[@]}" node.sif /usr/bin/node -e 'console.log("out"); console.error("err"); process.exit(7)' >o.txt 2>e.txt
status=$?
[ "$status" = 7 ] && [ "$(cat o.txt)" = out ] && [ "$(cat e.txt)" = err ] && ok "exit status 7, stdout and stderr pass through" || bad "passthrough: status $status, out '$(cat o.txt)', err '$(cat e.txt)'"

echo "== network isolation"
out="$(apptainer exec "${flags[@]}" --net --network none node.sif /usr/bin/node -e 'console.log(Object.keys(require("os").networkInterfaces()).join(","))' 2>&1)"
[ "$out" = lo ] && ok "root: --net --network none leaves only lo" || bad "root --net --network none: $out"
out="$(nobody apptainer -s exec "${flags[@]}" --net --network none node.sif /usr/bin/node -e 'console.log(Object.keys(require("os").networkInterfaces()).join(","))' 2>&1)"
[ "$out" = lo ] && ok "unprivileged (uid 65534, user namespace): --net --network none leaves only lo" || bad "unprivileged --net --network none: $out"

echo "== cgroup limits"
out="$(apptainer exec "${flags[@]}" --memory 128M --cpus 0.5 node.sif /usr/bin/node -e 'const a = []; for (let i = 0; i < 32; i++) a.push(Buffer.alloc(16 << 20, 1)); console.log("allocated 512 MB")' 2>&1)"
status=$?
[ "$status" = 137 ] && ok "root: --memory 128M: allocating 512 MB is OOM-killed (exit 137); --cpus accepted" || bad "root --memory: exit $status: $out"
out="$(nobody apptainer -s exec "${flags[@]}" --memory 128M node.sif /usr/bin/node -e 0 2>&1)" \
  && ok "unprivileged --memory" || limit "unprivileged --memory fails (cgroups v1 host): $(echo "$out" | tail -1)"

echo "== unprivileged and fakeroot"
out="$(nobody apptainer -s exec "${flags[@]}" node.sif /usr/bin/node -e 'console.log(process.getuid())' 2>&1)"
[ "$out" = 65534 ] && ok "unprivileged exec (uid 65534)" || bad "unprivileged exec: $out"
out="$(nobody apptainer -s exec "${flags[@]}" --fakeroot node.sif /usr/bin/node -e 'console.log(process.getuid())' 2>&1)"
[ "$out" = 0 ] && ok "unprivileged --fakeroot (uid 0 inside)" || limit "unprivileged --fakeroot: $out"
out="$(apptainer exec "${flags[@]}" --fakeroot node.sif /usr/bin/node -e 0 2>&1)" \
  && ok "root --fakeroot" || limit "root --fakeroot fails (full capability set requested): $(echo "$out" | tail -1)"

echo "== build with a %post section (needs /bin/sh in the image)"
mkdir -p post/root/bin
cp /bin/sh post/root/bin/sh
for lib in $(ldd /bin/sh | grep -o '/[^ ]*'); do mkdir -p "post/root$(dirname "$lib")"; cp -L "$lib" "post/root$lib"; done
{
  printf 'Bootstrap: scratch\n\n%%files\n'
  for entry in post/root/*; do printf '    %s /%s\n' "$work/$entry" "${entry#post/root/}"; done
  printf '\n%%post\n    echo ran >/post-ran\n'
} >post/post.def
chown -R 65534:65534 post
out="$(apptainer -s build post/root.sif post/post.def 2>&1)" \
  && ok "root: build with %post" || limit "root: build with %post fails (full capability set requested): $(echo "$out" | tail -1)"
out="$(cd post && nobody apptainer -s build --fakeroot user.sif post.def 2>&1)" \
  && [ "$(apptainer exec post/user.sif /bin/sh -c 'read line </post-ran; echo $line' 2>/dev/null)" = ran ] \
  && ok "unprivileged: build --fakeroot with %post" || bad "unprivileged build --fakeroot with %post: $(echo "$out" | tail -2)"

echo "== no mounts left on the host"
if grep -qE "apptainer|emflow" /proc/self/mountinfo; then bad "host mounts: $(grep -E 'apptainer|emflow' /proc/self/mountinfo)"; else ok "none"; fi

echo
[ "$failures" = 0 ] && { echo "apptainer-check.sh: all checks passed"; exit 0; }
echo "apptainer-check.sh: $failures check(s) FAILED" >&2
exit 1
