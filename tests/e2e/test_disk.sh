#!/bin/bash
# Disks. Growing an instance's root: a COW is pinned to its template's size, so `disk flatten` makes
# it a private sparse image first, then `disk resize` grows the file and the ext4 in it
# (e2fsck + resize2fs, offline, with a safety copy restored on failure). The guest sees the
# larger filesystem and its files are intact. Then `--swap SIZE` (a sparse swap disk, ubd2) and
# `--disk FILE` (data disks, ubd3...).
. "$(dirname "$0")/lib.sh"
need
make_image "$W/bb.img" 64M
start_daemon
use_hosting_kernel
U template import bb "$W/bb.img" > /dev/null
U create v --template bb --memory 64M --kernel-arg rw > /dev/null
U start v > /dev/null
wait_log v UH-INIT-UP 20 || not_ok "v reached init"
run guest_sh v 'dd if=/dev/urandom of=/guestdata/blob bs=1M count=8 2>/dev/null; cd /guestdata && sha256sum blob > SUMS && sync && cat SUMS'
check "the guest wrote 8 MiB and its checksum" matches "$rc:$out" "0:*blob*"
sum_before=$(echo "$out" | grep blob | cut -d' ' -f1)

run U disk flatten v
check "flatten is refused while running" matches "$rc:$err_out" "1:*v is running; stop it first*"
U stop v > /dev/null
run U disk resize v 256M
check "resize of a COW asks for flatten first" matches "$rc:$err_out" "1:*umlhost disk flatten v*"
run U disk flatten v
check "flatten" matches "$rc:$out" "0:*now a private image*"
check "the COW is gone, the image is the instance's own (0600, its uid)" test ! -e "$W/state/instances/v/disk.cow" -a "$(stat -c '%a %u' "$W/state/instances/v/disk.img")" = "600 $(U --json show v | jq_get 'd["uid"]')"
check "show: flat, disk is the image" test "$(U --json show v | jq_get 'str(d["flat"])+":"+d["disk"]')" = "True:$W/state/instances/v/disk.img"
check "the flattened image stays sparse" test "$(( $(stat -c %b "$W/state/instances/v/disk.img") * 512 ))" -lt $((64 << 20))
run U template rm bb
check "its template can go now: nothing sits on it" test "$rc" = 0
run U disk resize v 32M
check "shrinking is refused" matches "$rc:$err_out" "1:*disks only grow*"
run U disk resize v 256M
check "resize to 256M" matches "$rc:$out" "0:*grown to 256M*"
check "the image is 256 MiB" test "$(stat -c %s "$W/state/instances/v/disk.img")" = $((256 << 20))
check "no safety copy left after success" test ! -e "$W/state/instances/v/disk.img.pre-resize"

U start v > /dev/null
wait_log v UH-INIT-UP 20 || not_ok "v reached init after the resize"
run guest_sh v 'df -k / | tail -n 1; cd /guestdata && sha256sum -c SUMS'
size_kb=$(echo "$out" | awk '/\/dev\/root|ubda/ {print $2; exit}')
check "the guest sees the larger filesystem (${size_kb:-?} KiB)" test "${size_kb:-0}" -gt 200000
check "its files are intact" matches "$out" "*blob: OK*"
U stop v > /dev/null

# a failure inside resize2fs restores the safety copy: an image that is no filesystem
printf 'not a filesystem' | dd of="$W/state/instances/v/disk.img" bs=1 seek=1080 conv=notrunc 2> /dev/null
cp --sparse=always "$W/state/instances/v/disk.img" "$W/broken.img"
run U disk resize v 512M
check "a resize that fails is an error naming the tool" matches "$rc:$err_out" "1:*v: e2fsck*"
check "the disk is restored from the safety copy (same size, same bytes)" cmp -s "$W/state/instances/v/disk.img" "$W/broken.img"
vuid=$(U --json show v | jq_get 'd["uid"]')
check "... and is the instance's again (600, uid $vuid), not root's" \
	test "$(stat -c '%a %u %g' "$W/state/instances/v/disk.img")" = "600 $vuid $vuid"
run U disk resize v 100T
check "a size beyond the free space less disk_reserve is refused, naming both" \
	matches "$rc:$err_out" "1:*v: 100T does not fit: the state filesystem has *M free and keeps 1024M of it (disk_reserve)*"
check "... before anything changed" cmp -s "$W/state/instances/v/disk.img" "$W/broken.img"

# ---- the worker, and a daemon killed under it (issue 14, item 12). e2fsck is reached through
# a wrapper on the daemon's PATH that records who runs it and waits for a go, then runs the
# real tool: the test holds the worker at a known point.
cp --sparse=always "$W/bb.img" "$W/state/instances/v/disk.img"
chown "$vuid:$vuid" "$W/state/instances/v/disk.img"
# outside $W (0700): the instance's uid runs the wrapper
SLOW=$(mktemp -d /tmp/uh-slowbin.XXXXXX) && chmod 1777 "$SLOW" || die "mktemp"
trap 'cleanup; rm -rf "$SLOW"' EXIT
{
	echo '#!/bin/sh'
	echo "echo \"\$(id -u) \$(id -g) \$(grep ^CapEff /proc/self/status | cut -f2) \$\$\" > $SLOW/ran"
	echo "while [ ! -e $SLOW/go ]; do sleep 0.1; done"
	echo 'exec /usr/sbin/e2fsck "$@"'
} > "$SLOW/e2fsck"
chmod 755 "$SLOW/e2fsck"
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
PATH=$SLOW:$PATH start_daemon
U disk resize v 1G > /dev/null 2>&1 &
wait_cmd 20 test -s "$SLOW/ran" || not_ok "the resize reached e2fsck"
read -r ran_uid ran_gid ran_cap ran_pid < "$SLOW/ran"
check "e2fsck runs as the instance's uid and gid, without capabilities" \
	test "$ran_uid:$ran_gid:$ran_cap" = "$vuid:$vuid:0000000000000000"
worker=$(awk '{print $4}' "/proc/${ran_pid:-0}/stat")
kill -9 "$DAEMON_PID"; wait_exit "$DAEMON_PID" 5
check "the worker outlives the killed daemon" kill -0 "${worker:-0}"
start_daemon
check "the restarted daemon adopts the worker (event)" \
	matches "$(U events | grep ' v ' | tail -n 3)" "*disk-work-adopted*resize worker*pid $worker*"
run U start v
check "start is refused while the worker lives" matches "$rc:$err_out" "1:*its disk is being resized*"
touch "$SLOW/go"
wait_cmd 30 bash -c "'$UMLHOST' events | grep ' v ' | grep -q disk-work-finished" || not_ok "the worker's end was seen"
check "the resize it finished stands (1 GiB), its record gone" \
	test "$(stat -c %s "$W/state/instances/v/disk.img"):$(test -e "$W/state/instances/v/disk-work" && echo left)" = "$((1 << 30)):"
run U start v
check "then it starts" test "$rc" = 0
wait_log v UH-INIT-UP 20
run guest_sh v 'df -k / | tail -n 1'
size_kb=$(echo "$out" | awk '/\/dev\/root|ubda/ {print $2; exit}')
check "the guest sees the 1 GiB filesystem (${size_kb:-?} KiB)" test "${size_kb:-0}" -gt 900000
U stop v > /dev/null

# a worker that dies halfway (the file grown, e2fsck not yet run): undone at the next start
rm -f "$SLOW/go" "$SLOW/ran"
kill -TERM "$DAEMON_PID"; wait_exit "$DAEMON_PID" 10
PATH=$SLOW:$PATH start_daemon
cp --sparse=always "$W/state/instances/v/disk.img" "$W/before.img"
U disk resize v 2G > /dev/null 2>&1 &
wait_cmd 20 test -s "$SLOW/ran" || not_ok "the second resize reached e2fsck"
read -r ran_uid ran_gid ran_cap ran_pid < "$SLOW/ran"
worker=$(awk '{print $4}' "/proc/${ran_pid:-0}/stat")
check "halfway: the image is grown already (2 GiB)" test "$(stat -c %s "$W/state/instances/v/disk.img")" = $((2 << 30))
[ -n "$worker" ] && [ -n "$ran_pid" ] && kill -9 "$DAEMON_PID" "$worker" "$ran_pid"
wait_exit "$DAEMON_PID" 5
start_daemon
# (the killed worker may be a zombie for a moment, until init reaps it: dead all the same)
wait_cmd 10 bash -c "'$UMLHOST' events | grep ' v ' | tail -n 2 | grep -q disk-work-undone"
check "the restarted daemon undoes it (event)" \
	matches "$(U events | grep ' v ' | tail -n 2)" "*disk-work-undone*died halfway*"
check "the disk is as before the resize" cmp -s "$W/state/instances/v/disk.img" "$W/before.img"
check "... and the instance's (600, its uid)" test "$(stat -c '%a %u' "$W/state/instances/v/disk.img")" = "600 $vuid"
run U start v
check "and it starts" test "$rc" = 0
U stop v > /dev/null

# a swap disk and a data disk (data disks live under disk_dir, default <state>/disks)
D=$W/state/disks
mkdir -p "$D"
truncate -s 32M "$D/data.img"
U template import bb2 "$W/bb.img" > /dev/null # bb is gone (removed above)
run U create s --template bb2 --memory 64M --swap 64M --disk "$D/data.img"
check "create with --swap and --disk" test "$(U --json show s | jq_get 'str(d["swap_mib"])+":"+",".join(d["disks"])')" = "64:$D/data.img"
check "the swap disk is sparse, formatted, the instance's" test "$(stat -c '%a %u %s' "$W/state/instances/s/swap.img")" = "600 $(U --json show s | jq_get 'd["uid"]') $((64 << 20))" -a "$(blkid -o value -s TYPE "$W/state/instances/s/swap.img")" = swap
check "the data disk is the instance's now" test "$(stat -c '%a %u' "$D/data.img")" = "600 $(U --json show s | jq_get 'd["uid"]')"
run U create s2 --template bb2 --disk "$D/data.img"
check "a data disk is one instance's only" matches "$rc:$err_out" "1:*data.img is a data disk of instance s*"
truncate -s 1M "$D/data.img2"
run U create s4 --template bb2 --disk "$D/data.img2"
check "a disk whose path extends another's is not mistaken for it" test "$rc" = 0
run U create s3 --template bb2 --disk "$D/nosuchdisk"
check "a missing data disk is refused" matches "$rc:$err_out" "1:*--disk $D/nosuchdisk*"

# ---- --disk cannot hand a customer a file that is not a data disk (issue 14, item 5): the
# template, another instance's COW, the state database, a symlink or a hard link in disk_dir
# to one of them, a path outside disk_dir. Each refused; owner and mode unchanged.
tpl=$(U --json template list | jq_get '[t["path"] for t in d if t["name"]=="bb2"][0]')
U create victim --template bb2 --memory 64M > /dev/null
cow=$W/state/instances/victim/disk.cow
ln -s "$W/state/state.db" "$D/db-link.img"
ln -s "$D" "$W/disks-link"
ln "$tpl" "$D/tpl-hardlink.img" 2> /dev/null || cp "$tpl" "$D/tpl-hardlink.img"
# The CLI canonicalises paths (realpath) before it sends them; an API caller need not, so
# these go to the API as given (curl on the unix socket).
api_create() { # api_create NAME DISK: POST /v1/instances; rc, out (the JSON answer)
	out=$(curl -s --unix-socket "$UMLHOST_SOCKET" -X POST -H 'Content-Type: application/json' \
		-d "{\"name\": \"$1\", \"template\": \"bb2\", \"disks\": [\"$2\"]}" \
		-w '\n%{http_code}' http://umlhost/v1/instances)
	rc=$(echo "$out" | tail -n 1)
	err_out=$(echo "$out" | head -n -1)
}
refuse_disk() { # refuse_disk PATH WHY FILE-THAT-MUST-NOT-CHANGE
	local before after
	before=$(stat -c '%u:%g:%a' "$3")
	run U create thief --template bb2 --disk "$1"
	[ "$rc" = 1 ] && api_create thief "$1" && [[ $rc == 4* ]] && rc=1
	after=$(stat -c '%u:%g:%a' "$3")
	check "--disk $(basename "$1") refused ($2)" matches "$rc:$err_out" "1:*$2*"
	check "... $(basename "$3") keeps owner and mode ($before)" test "$before" = "$after"
	check "... and no instance thief" test ! -e "$W/state/instances/thief"
}
refuse_disk "$tpl" "is not under $D (disk_dir)" "$tpl"
refuse_disk "$cow" "is not under $D (disk_dir)" "$cow"
refuse_disk "$W/state/state.db" "is not under $D (disk_dir)" "$W/state/state.db"
refuse_disk "$D/db-link.img" "is or passes through a symlink" "$W/state/state.db"
refuse_disk "$D/../state.db" "leaves $D" "$W/state/state.db"
refuse_disk "$D/tpl-hardlink.img" "is template bb2" "$tpl"
truncate -s 1M "$D/plain.img"
ln "$D/plain.img" "$D/plain-2.img"
refuse_disk "$D/plain.img" "2 names (hard links)" "$D/plain.img"
refuse_disk /etc/shadow "is not under $D (disk_dir)" /etc/shadow
# disk_dir set to the state directory itself: the identity checks still hold
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2> /dev/null
printf 'disk_dir = %s\n' "$W/state" > "$W/diskdir.conf"
start_daemon --config "$W/diskdir.conf"
refuse_disk "$cow" "is the disk of instance victim" "$cow"
refuse_disk "$W/state/state.db" "is the state database" "$W/state/state.db"
refuse_disk "$tpl" "is template bb2" "$tpl"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2> /dev/null
start_daemon
U delete victim > /dev/null
U start s > /dev/null
wait_log s UH-SWAP-ON 20
run guest_sh s 'grep -c ubdc /proc/swaps; cat /sys/block/ubdd/size'
check "the guest swaps on its swap disk and sees the data disk (32 MiB)" matches "$out" "1*65536*"
U stop s > /dev/null

# ---- a big flatten runs in a worker: the daemon supervises and answers meanwhile, and the
# instance's disk is left alone until it is done
mkdir -p "$W/bigdata"
for k in 1 2 3 4 5 6; do head -c 100M /dev/urandom > "$W/bigdata/r$k"; done
make_image "$W/big.img" 1G "$W/bigdata"
rm -rf "$W/bigdata"
U template import big "$W/big.img" > /dev/null
U create bigv --template big --memory 64M > /dev/null
U disk flatten bigv > "$W/flatten.out" 2>&1 &
fpid=$!
worker() { pgrep -P "$DAEMON_PID" -x umlhostd > /dev/null; }
for k in $(seq 200); do worker && break; sleep 0.02; done
t0=$(date +%s%N)
U list > /dev/null
t1=$(date +%s%N)
check "while a worker merges 600 MB, the daemon answers ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 500
check "(the worker was still at it)" worker
run U start bigv
check "the instance does not start under the worker" matches "$rc:$err_out" "1:*its disk is being flattened*"
run U backup create bigv
check "nor is it backed up" matches "$rc:$err_out" "1:*its disk is being flattened*"
wait "$fpid"
check "the flatten completes" matches "$(cat "$W/flatten.out")" "*now a private image*"
check "and the image holds the template's data" test "$(stat -c %b "$W/state/instances/bigv/disk.img")" -gt $(( 600 * 2048 ))
U start bigv > /dev/null
check "it boots from its image" wait_log bigv UH-INIT-UP 20
U stop bigv > /dev/null
finish
