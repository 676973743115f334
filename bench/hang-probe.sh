#!/bin/bash
# Boot reliability: boots N busybox guests, 8 at a time; each must print UH-INIT-UP within 20 s.
#   bench/hang-probe.sh KERNEL [N=40]
# Found the VMAP_STACK hang (session 5, kernel/hosting.config): 8 of 96 hung with it, 0 without.
# A hung guest's last console line is printed; `gdb -p` on its spinning kernel process shows where.
K=$1; N=${2:-40}; T=/tmp/hang.$$; mkdir -p $T
bash /work/main/scripts/busybox-image.sh $T/bb.img 64M > /dev/null
ok=0; bad=0
for b in $(seq $((N/8))); do
  pids=()
  for i in $(seq 8); do
    u=h$b$i
    setsid setarch x86_64 -R $K umid=$u uml_dir=$T mem=64M ubd0=$T/$u.cow,$T/bb.img con=null con0=null,fd:1 > $T/$u.log 2>&1 < /dev/null &
    pids+=($!)
    disown $! # no "Killed" report from the shell when it is killed below
  done
  for i in $(seq 8); do u=h$b$i; for t in $(seq 200); do grep -q UH-INIT-UP $T/$u.log && break; sleep 0.1; done
    if grep -q UH-INIT-UP $T/$u.log; then ok=$((ok+1)); else bad=$((bad+1)); echo "hang: $u: $(tail -n 1 $T/$u.log)"; fi; done
  for p in "${pids[@]}"; do for q in $(ps -e -o pid=,sid= | awk -v s=$p '$2==s{print $1}'); do kill -9 $q; done; kill -9 $p 2>/dev/null; done
  sleep 0.5
done
echo "$K: $ok booted, $bad hung"
rm -rf $T
