#!/bin/bash
# Online backups: a running guest's data flushed (sysrq s, waited for), a freeze
# of milliseconds around a snapshot of only its COW, the instance resumed, a tar.zst archive
# with a manifest of sha256s; the archive's data merged over the template gives a clean
# filesystem holding the guest's files; a flipped byte fails verify naming the member; a full
# target leaves no archive and a running instance; restore --as a copy that boots with the
# data; restores refused for a damaged archive, over a running instance, or with the template
# version gone, or changed; prune keeps the newest; a flattened instance round-trips; an SFTP
# target (a real sshd, key login, known host key) gets the archive, verifies it and restores
# from it, and refuses an unknown host key or an unauthorized key leaving nothing behind.
# The daemon and the sshd share a network namespace this test creates; 198.51.100.2 exists
# only there.
. "$(dirname "$0")/lib.sh"
need
[ -x /usr/sbin/sshd ] || die "sshd missing (apt-get install openssh-server)"
N=uhb$$
trap 'cleanup; ip netns del "$N" 2> /dev/null' EXIT
ip netns add "$N" || die "cannot create a network namespace"
ip -n "$N" link set lo up
ip -n "$N" addr add 198.51.100.2/32 dev lo
DAEMON_NETNS=$N

# the off-host server: sshd with its own host key, root by key only, the internal sftp server
S=$W/ssh
mkdir -p "$S" "$W/remote"
ssh-keygen -q -t ed25519 -N '' -f "$S/host_key" -C host
ssh-keygen -q -t ed25519 -N '' -f "$S/id_ed25519" -C umlhost-backup
ssh-keygen -q -t ed25519 -N '' -f "$S/other_host_key" -C other
cp "$S/id_ed25519.pub" "$S/authorized_keys"
echo "[198.51.100.2]:2222 $(cut -d' ' -f1,2 "$S/host_key.pub")" > "$S/known_hosts"
cat > "$S/sshd_config" << CONF
Port 2222
ListenAddress 198.51.100.2
HostKey $S/host_key
AuthorizedKeysFile $S/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile $S/sshd.pid
Subsystem sftp internal-sftp
CONF
# sshd insists on its privilege separation directory
[ -d /run/sshd ] || { mkdir -p /run/sshd && MADE_RUN_SSHD=1; }
nsenter --net=/run/netns/$N /usr/sbin/sshd -D -e -f "$S/sshd_config" 2> "$S/sshd.log" &
PIDS+=($!)
trap 'cleanup; ip netns del "$N" 2> /dev/null; [ -n "${MADE_RUN_SSHD:-}" ] && rmdir /run/sshd' EXIT
printf 'backup_ssh_key = %s\nbackup_known_hosts = %s\n' "$S/id_ed25519" "$S/known_hosts" > "$W/base.conf"
make_image "$W/bb.img" 64M
start_daemon --config "$W/base.conf"
use_hosting_kernel
U template import bb "$W/bb.img" > /dev/null
U create b --template bb --memory 64M --kernel-arg rw > /dev/null
U start b > /dev/null
wait_log b UH-INIT-UP 20 || not_ok "b reached init"
run guest_sh b 'dd if=/dev/urandom of=/guestdata/blob bs=1M count=6 2>/dev/null; cd /guestdata && sha256sum blob > SUMS; cat SUMS'
sum=$(echo "$out" | grep -E -o '^[0-9a-f]{64}  blob' | cut -d' ' -f1)
check "the guest wrote data (not yet synced by hand)" test -n "$sum"
pid_before=$(inst_pid b)

run U --json backup create b
check "backup create succeeds" test "$rc" = 0
arch=$(echo "$out" | jq_get 'd["archive"]')
freeze=$(echo "$out" | jq_get 'd["freeze_ms"]')
check "the archive exists, its sha256 as reported" test -s "$arch" -a "$(sha256sum "$arch" | cut -d' ' -f1)" = "$(echo "$out" | jq_get 'd["sha256"]')"
check "the freeze was short (${freeze} ms < 1000)" test "$freeze" -lt 1000
check "the instance runs on, same kernel process" test "$(inst_state b):$(inst_pid b)" = "running:$pid_before"
check "the guest synced before the freeze (its console says so)" wait_log b "Emergency Sync complete" 1
check "the guest still answers after the freeze" matches "$(guest_sh b 'echo alive')" "*alive*"
check "backup list shows it" matches "$(U backup list b)" "*$arch*"

run U backup verify "$arch"
check "verify: every member matches" matches "$rc:$out" "0:*OK (2 members*"
check "the manifest names the template, its version and sha256" test "$(U --json backup verify "$arch" | jq_get 'd["manifest"]["template"]+":"+str(d["manifest"]["template_version"])+":"+str(len(d["manifest"]["template_sha256"]))')" = "bb:1:64"
# the archive is plain tar+zstd: its COW merged over the template is a clean ext4 with the file
mkdir -p "$W/x"
tar --zstd -xf "$arch" -C "$W/x"
check "GNU tar extracts it (sparse)" test -s "$W/x/disk.cow" -a -s "$W/x/manifest.json"
U cow merge "$W/x/disk.cow" "$W/x/merged.img" --backing "$W/state/templates/bb.img" > /dev/null
# as a boot would: replay the journal (and the free counts a mounted ext4 leaves stale), then
# nothing may be left to fix
e2fsck -fy "$W/x/merged.img" > /dev/null 2>&1
check "the journal replays to a clean filesystem (e2fsck -n after)" e2fsck -fn "$W/x/merged.img"
debugfs -R "dump /guestdata/blob $W/x/blob" "$W/x/merged.img" > /dev/null 2>&1
check "the guest's file is in the backup, complete" test "$(sha256sum "$W/x/blob" 2> /dev/null | cut -d' ' -f1)" = "$sum"

# every time: a backup right after unsynced writes holds them. The 6.1 kernel's emergency
# sync starts ext4's journal commit without waiting for it, so the freeze waits for the disk
# to be quiet (backup.c); the booted copies of this test once lacked the last files. Four
# rounds of 6 MiB on a server of their own, each archive merged, its journal replayed, the
# file compared (with the wait disabled, 8 rounds in two runs lost nothing: the race is
# narrow here, this check catches it only sometimes).
U create rnd --template bb --memory 64M --kernel-arg rw > /dev/null
U start rnd > /dev/null
wait_log rnd UH-INIT-UP 20 || not_ok "rnd reached init"
mkdir -p "$W/rounds"
lost=0
for k in 1 2 3 4; do
	want=$(guest_sh rnd "dd if=/dev/urandom of=/guestdata/r$k bs=1M count=6 2>/dev/null; sha256sum /guestdata/r$k" | grep -oE '^[0-9a-f]{64}')
	a=$(U --json backup create rnd --to "$W/rounds" | jq_get 'd["archive"]')
	rm -rf "$W/r" && mkdir -p "$W/r" && tar --zstd -xf "$a" -C "$W/r"
	U cow merge "$W/r/disk.cow" "$W/r/m.img" --backing "$W/state/templates/bb.img" > /dev/null
	e2fsck -fy "$W/r/m.img" > /dev/null 2>&1
	debugfs -R "dump /guestdata/r$k $W/r/f" "$W/r/m.img" > /dev/null 2>&1
	got=$(sha256sum "$W/r/f" 2> /dev/null | cut -d' ' -f1)
	[ -n "$want" ] && [ "$got" = "$want" ] || { lost=$((lost + 1)); echo "# round $k: wanted ${want:-?}, the archive holds ${got:-no file}"; }
	sleep 1.1 # one archive name a second
done
check "4 backups, each right after unsynced writes: each holds its file ($lost lost)" test "$lost" = 0
U delete --force rnd > /dev/null

cp "$arch" "$W/first.tar.zst" # prune removes the original below
cp "$arch" "$W/tampered.tar.zst"
size=$(stat -c %s "$W/tampered.tar.zst")
flip_byte "$W/tampered.tar.zst" $((size / 2))
run U backup verify "$W/tampered.tar.zst"
check "a flipped byte: verify fails naming the member" matches "$rc:$err_out" "1:*disk.cow*"

mkdir -p "$W/small"
mount -t tmpfs -o size=64k umlhost-test "$W/small" || die "mount tmpfs"
run U backup create b --to "$W/small"
check "a full target: exit 1, a clear error" matches "$rc:$err_out" "1:*No space left on device*"
check "no archive (or temp file) left in the target" test -z "$(ls -A "$W/small")"
check "the instance runs on" test "$(inst_state b):$(inst_pid b)" = "running:$pid_before"
umount "$W/small"

# ---- freeze correctness: a guest appending checksummed records while backups are taken
U create w --template bb --memory 64M --kernel-arg rw --kernel-arg uhmode=records > /dev/null
U start w > /dev/null
wait_log w UH-RECORDS-STARTED 20 || not_ok "w's writer started"
sleep 2
for k in 1 2 3; do
	run U --json backup create w
	[ "$rc" = 0 ] || not_ok "backup $k of the writing guest"
	warch=$(echo "$out" | jq_get 'd["archive"]')
	sleep 1.1
done
# restored as an instance, its disk merged over the template as the kernel would see it
mkdir -p "$W/y"
run U backup restore "$warch" --as wcopy
check "the writing guest's last backup restores" test "$rc" = 0
U cow merge "$W/state/instances/wcopy/disk.cow" "$W/y/merged.img" --backing "$W/state/templates/bb.img" > /dev/null
U delete wcopy > /dev/null
e2fsck -fy "$W/y/merged.img" > /dev/null 2>&1
check "the writing guest's snapshot replays to a clean filesystem" e2fsck -fn "$W/y/merged.img"
debugfs -R "dump /guestdata/records $W/y/records" "$W/y/merged.img" > /dev/null 2>&1
total=$(wc -l < "$W/y/records" 2> /dev/null || echo 0)
bad=$(python3 - "$W/y/records" << 'PY'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
bad = 0 if data.endswith(b"\n") or not data else 1   # a torn last record
for n, line in enumerate(data.splitlines()):
    parts = line.split(b" ")
    ok = len(parts) == 2 and parts[0] == b"%08d" % n and \
        parts[1].decode() == hashlib.sha256(b"rec-%d\n" % n).hexdigest()[:16]
    bad += 0 if ok else 1
print(bad)
PY
)
check "every record in the snapshot is complete and valid ($total records, $bad bad)" test "$total" -gt 10 -a "$bad" = 0
U delete --force w > /dev/null

# ---- schedules: every 2 s, keep 2
run U create sch --template bb --memory 64M --backup-every 2s --backup-keep 2
check "create with a backup schedule" test "$rc:$(U --json show sch | jq_get 'str(d["backup_every_s"])+":"+str(d["backup_keep"])')" = "0:2:2"
run U create bad-sch --template bb --backup-every soon
check "a bad schedule is refused" matches "$rc:$err_out" "1:*--backup-every must be a duration*"
U start sch > /dev/null
# three runs at 2 s take 6 s; a loaded machine gets 30 (a fixed sleep raced it)
sch_done() { [ "$(U events | grep -c ' sch  *backup  ')" -ge 3 ] && [ "$(U --json backup list sch | jq_get 'len(d)')" = 2 ]; }
wait_cmd 30 sch_done
check "the daemon took scheduled backups (events)" test "$(U events | grep -c ' sch  *backup  ')" -ge 3
check "and kept the newest 2" test "$(U --json backup list sch | jq_get 'len(d)')" = 2
U delete --force sch > /dev/null
check "(delete --force does not wait for a running backup)" test -z "$(U --json list | jq_get '[i["name"] for i in d if i["name"] == "sch"]' | tr -d '[]')"

# ---- restore
run U backup restore "$W/tampered.tar.zst" --as bad
check "a damaged archive is not restored" matches "$rc:$err_out" "1:*disk.cow*"
check "nothing of it is left (no instance, no temp dir)" test "$(U --json list | jq_get 'len(d)')" = 1 -a -z "$(ls -A "$W/state/instances" | grep restore)"
run U backup restore "$arch"
check "restoring over the running instance is refused" matches "$rc:$err_out" "1:*b is running*"
run U backup restore "$arch" --as copy
check "restore --as copy" matches "$rc:$out" "0:*restored copy*"
check "the copy has its own uid and the backup's template version" test "$(U --json show copy | jq_get 'str(d["uid"] != 0)+":"+str(d["template_version"])')" = "True:1" -a "$(U --json show copy | jq_get 'd["uid"]')" != "$(U --json show b | jq_get 'd["uid"]')"
U start copy > /dev/null
wait_log copy UH-INIT-UP 20 || not_ok "the copy boots"
run guest_sh copy 'cd /guestdata && sha256sum -c SUMS'
check "the data written before the backup is in the booted copy" matches "$out" "*blob: OK*"
U stop copy > /dev/null
check "a recorded archive keeps its kernel" test "$(U --json show copy | jq_get 'd["kernel"]')" = "$(U --json show b | jq_get 'd["kernel"]')"

# ---- a forged archive (issue 14, item 10): valid digests, made with our own helper, but its
# instance.json names the stock kernel and adds arguments that reach the host. It restores on
# this host's policy: the default kernel, only allowed arguments, each left-out one named.
mkdir -p "$W/forge"
tar --zstd -xf "$W/first.tar.zst" -C "$W/forge"
python3 - "$W/forge" << 'PY'
import json, sys
d = sys.argv[1]
inst = json.load(open(f"{d}/instance.json"))
inst["kernel"] = "stock"
inst["kernel_args"] = list(inst.get("kernel_args") or []) + [
    "vec1:transport=l2tpv3,src=198.51.100.9,dst=198.51.100.10", "hostfs=/", "uhmode=idle"]
json.dump(inst, open(f"{d}/instance.json", "w"))
man = json.load(open(f"{d}/manifest.json"))
json.dump({k: v for k, v in man.items() if k != "members"}, open(f"{d}/extra.json", "w"))
PY
"$(dirname "$UMLHOSTD")/umlhost-backup" write "$W/forged.tar.zst" --member "disk.cow=$W/forge/disk.cow" \
	--member "instance.json=$W/forge/instance.json" --extra "$W/forge/extra.json" --result "$W/forge/result.json"
check "the forged archive verifies (its digests are right)" matches "$(U backup verify "$W/forged.tar.zst")" "*OK*"
run U backup restore "$W/forged.tar.zst" --as forged
check "it restores" matches "$rc:$out" "0:*restored forged*"
check "the stock kernel it names is left out, said so" contains "$out" "left out: kernel stock (the archive is not one this host made: the default kernel instead)"
check "the vec1 argument is left out, said so" contains "$out" "left out: kernel argument: kernel argument 'vec1:transport=l2tpv3"
check "hostfs= is left out, said so" contains "$out" "left out: kernel argument: kernel argument 'hostfs=/' is managed by umlhost"
check "the restored instance runs this host's default kernel" test "$(U --json show forged | jq_get 'd["kernel"]')" = hosting
orig=$(U --json show b | jq_get '",".join(d["kernel_args"])')
check "with only the allowed arguments (b's own and uhmode=idle)" test "$(U --json show forged | jq_get '",".join(d["kernel_args"])')" = "${orig:+$orig,}uhmode=idle"
U delete forged > /dev/null

# ---- a decompression bomb (issue 14, item 9): a small archive whose disk member claims 1 TiB
# (here 1 MiB of it follows, then the archive ends: the claim alone must stop it). Refused by
# the header's size against the free space less disk_reserve, before a byte is written;
# nothing is left in the state directory.
python3 - "$W/bomb.tar" << 'PY'
import io, sys, tarfile
with open(sys.argv[1], "wb") as f:
    inst = tarfile.TarInfo("instance.json"); body = b'{"name": "bomb"}'; inst.size = len(body)
    f.write(inst.tobuf(tarfile.PAX_FORMAT)); f.write(body + b"\0" * (-len(body) % 512))
    disk = tarfile.TarInfo("disk.cow"); disk.size = 1 << 40
    f.write(disk.tobuf(tarfile.PAX_FORMAT)); f.write(b"a" * (1 << 20))
PY
zstd -q -f "$W/bomb.tar" -o "$W/bomb.tar.zst"
avail_before=$(df --output=avail -B1M "$W/state" | tail -n 1)
run U backup restore "$W/bomb.tar.zst" --as bomb
check "a member claiming more than the free space is refused, named, before writing" \
	matches "$rc:$err_out" "1:*member disk.cow is 1048576 MiB and the state filesystem has * MiB free beyond its reserve of 1024 MiB (disk_reserve): nothing restored*"
check "nothing of it is left in the state directory" \
	test -z "$(ls -A "$W/state/instances" | grep -E '^(\.restore-|bomb$)')"
avail_after=$(df --output=avail -B1M "$W/state" | tail -n 1)
check "the free space did not shrink ($avail_before -> $avail_after MiB)" test $((avail_before - avail_after)) -lt 64
check "no instance bomb" test "$(U --json list | jq_get '[i for i in d if i["name"]=="bomb"]')" = "[]"

U stop b > /dev/null
run U --json backup create b
check "a stopped instance is backed up without a freeze" test "$rc:$(echo "$out" | jq_get 'd["freeze_ms"]')" = 0:0
sleep 1.1
U backup create b > /dev/null
check "three archives of b" test "$(U --json backup list b | jq_get 'len(d)')" = 3
# a valid archive in the place of another (an older one renamed): caught by the recorded sha256
a_old=$(U --json backup list b | jq_get 'sorted(x["archive"] for x in d)[0]')
a_new=$(U --json backup list b | jq_get 'sorted(x["archive"] for x in d)[2]')
cp "$a_new" "$W/new.keep"
cp "$a_old" "$a_new"
run U backup verify "$a_new"
check "an archive swapped for another valid one fails verify" matches "$rc:$err_out" "1:*not the archive umlhostd made*"
cp "$W/new.keep" "$a_new"
check "the real one verifies, with its sha256" test "$(U --json backup verify "$a_new" | jq_get 'd["sha256"]')" = "$(sha256sum "$a_new" | cut -d' ' -f1)"
run U backup prune b --keep 1
check "prune --keep 1 leaves the newest" test "$rc:$(U --json backup list b | jq_get 'len(d)')" = 0:1

# ---- off-host copies over SFTP
U start b > /dev/null
wait_log b UH-INIT-UP 20 || not_ok "b restarted"
R="sftp://root@198.51.100.2:2222$W/remote/b"
run U --json backup create b --to "$R"
check "backup create --to sftp:// succeeds" test "$rc" = 0
rarch=$(echo "$out" | jq_get 'd["archive"]')
rfile=$W/remote/b/${rarch##*/}
check "the archive landed on the remote, under the reported name" test "${rarch%/*}" = "$R" -a -s "$rfile"
check "its sha256 is the one reported" test "$(sha256sum "$rfile" | cut -d' ' -f1)" = "$(echo "$out" | jq_get 'd["sha256"]')"
check "no temp file left on the remote" test "$(ls -A "$W/remote/b" | wc -l)" = 1
check "backup list shows the off-host copy" matches "$(U backup list b)" "*$rarch*"
check "the freeze was short there too" test "$(echo "$out" | jq_get 'd["freeze_ms"]')" -lt 1000
run U backup verify "$rfile"
check "the remote archive verifies (as a file)" matches "$rc:$out" "0:*OK (2 members*"
run U backup verify "$rarch"
check "and read back over SFTP" matches "$rc:$out" "0:*OK (2 members*"
run U backup restore "$rarch" --as fromremote
check "restore straight from the SFTP URL" matches "$rc:$out" "0:*restored fromremote*"
U delete fromremote > /dev/null
# a server whose host key is not the known one is refused before anything is sent
cp "$S/known_hosts" "$S/known_hosts.good"
echo "[198.51.100.2]:2222 $(cut -d' ' -f1,2 "$S/other_host_key.pub")" > "$S/known_hosts"
sleep 1.1
run U backup create b --to "$R"
check "an unknown host key is refused" matches "$rc:$err_out" "1:*host key*refused*"
cp "$S/known_hosts.good" "$S/known_hosts"
# a key the server does not accept
mv "$S/authorized_keys" "$S/authorized_keys.good"
: > "$S/authorized_keys"
run U backup create b --to "$R"
check "a key the server refuses: a clear error" matches "$rc:$err_out" "1:*was not accepted*"
mv "$S/authorized_keys.good" "$S/authorized_keys"
check "the refused attempts left nothing on the remote" test "$(ls -A "$W/remote/b" | wc -l)" = 1
# a remote disk that fills up: nothing stays there
mkdir -p "$W/remote/small"
mount -t tmpfs -o size=64k umlhost-test "$W/remote/small" || die "mount tmpfs"
run U backup create b --to "sftp://root@198.51.100.2:2222$W/remote/small"
check "a full remote disk: exit 1, named" matches "$rc:$err_out" "1:*No space left on device*"
check "and no partial archive on it" test -z "$(ls -A "$W/remote/small")"
umount "$W/remote/small"
check "the instance ran on through all of it" test "$(inst_state b)" = running
# scheduled backups to the SFTP server, with retention there; other files are left alone
R2="sftp://root@198.51.100.2:2222$W/remote/sch2"
mkdir -p "$W/remote/sch2"
echo keep > "$W/remote/sch2/notes.txt"
echo keep > "$W/remote/sch2/other-20200101T000000Z.tar.zst"
run U create sch2 --template bb --memory 64M --backup-every 2s --backup-keep 2 --backup-to "$R2"
check "create --backup-to sftp://" test "$rc:$(U --json show sch2 | jq_get 'd["backup_to"]')" = "0:$R2"
sch2_done() { [ "$(ls "$W/remote/sch2" | grep -c '^sch2-.*\.tar\.zst$')" = 2 ] && U events | grep ' sch2 ' | grep -q backup-pruned; }
wait_cmd 30 sch2_done
check "the schedule put its backups on the SFTP server, the newest 2 kept" test "$(ls "$W/remote/sch2" | grep -c '^sch2-.*\.tar\.zst$')" = 2
check "pruning there left other files alone" test -f "$W/remote/sch2/notes.txt" -a -f "$W/remote/sch2/other-20200101T000000Z.tar.zst"
check "the pruning is an event" matches "$(U events | grep ' sch2 ')" "*backup-pruned*$R2*"
# a scheduled backup may be running: --force cancels it
U delete --force sch2 > /dev/null
run U backup prune sch2 --keep 1 --from "$R2"
check "backup prune --from sftp://" test "$rc:$(ls "$W/remote/sch2" | grep -c '^sch2-')" = 0:1
run U --json backup list --from "$R2"
check "backup list --from sftp:// reads the server (archive names only)" test "$rc:$(echo "$out" | jq_get '",".join(x["instance"] for x in d)')" = "0:other,sch2"
check "one instance's, with the URL to restore from" test "$(U --json backup list sch2 --from "$R2" | jq_get '[x["archive"] for x in d][0]')" = "$R2/$(ls "$W/remote/sch2" | grep '^sch2-')"
run U create nosch --template bb --backup-to "$W/x"
check "--backup-to without --backup-every is refused" matches "$rc:$err_out" "1:*--backup-to goes with --backup-every*"
run U backup create b --to "ftp://x/y"
check "an unsupported target is named" matches "$rc:$err_out" "1:*only sftp:// URLs*"
U stop b > /dev/null

# ---- a flattened instance (a private image, no template) round-trips
U create f --template bb --memory 64M --kernel-arg rw > /dev/null
U disk flatten f > /dev/null
run U --json backup create f
check "a flattened instance is backed up (its image)" test "$rc" = 0
farch=$(echo "$out" | jq_get 'd["archive"]')
check "the archive holds disk.img and no template" test "$(U --json backup verify "$farch" | jq_get '",".join(sorted(d["manifest"]["members"]))+":"+str(d["manifest"].get("template"))')" = "disk.img,instance.json:None"
U delete f > /dev/null
run U backup restore "$farch"
check "restore of a flattened instance" matches "$rc:$out" "0:*restored f*"
check "it is flat again" test "$(U --json show f | jq_get 'str(d["flat"])')" = True
U start f > /dev/null
check "and boots" wait_log f UH-INIT-UP 20
U delete --force f > /dev/null

# ---- the archive is written by the helper, not the daemon: the daemon answers meanwhile,
# refuses to delete the instance under it, and cancels it (no partial archive) when stopping
U create big --template bb --memory 64M > /dev/null
# 500 MB of random bytes in its (stopped) COW: seconds of compression and hashing
dd if=/dev/urandom of="$W/state/instances/big/disk.cow" bs=1M count=500 seek=80 conv=notrunc 2> /dev/null
helper_running() { pgrep -f "umlhost-backup .* write .*$1" > /dev/null; }
U backup create big --to "$W/slow" > "$W/slow.out" 2>&1 &
bpid=$!
for k in $(seq 200); do helper_running "$W/slow" && break; sleep 0.02; done
t0=$(date +%s%N)
U list > /dev/null
t1=$(date +%s%N)
check "while the helper archives, the daemon answers ($(( (t1 - t0) / 1000000 )) ms)" test $(( (t1 - t0) / 1000000 )) -lt 500
check "(the helper was still at work)" helper_running "$W/slow"
run U delete big
check "the instance cannot be deleted under its backup" matches "$rc:$err_out" "1:*a backup is being made*"
wait "$bpid"
check "that backup completes" matches "$(cat "$W/slow.out")" "*big-*.tar.zst*"
U backup create big --to "$W/cancel" > "$W/cancel.out" 2>&1 &
bpid=$!
for k in $(seq 200); do helper_running "$W/cancel" && break; sleep 0.02; done
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID" 2> /dev/null
wait "$bpid"
check "a backup cut short by the daemon's stop says so" matches "$(cat "$W/cancel.out")" "*umlhostd is stopping*"
for k in $(seq 100); do helper_running "$W/cancel" || break; sleep 0.05; done
check "its helper is gone and left no partial archive" test -z "$(ls -A "$W/cancel")"
start_daemon --config "$W/base.conf"
U delete big > /dev/null

# a restore whose template version is not the same here (its sha256) is refused
U delete copy > /dev/null
U delete b > /dev/null
tpl=$W/state/templates/bb.img
cp -a "$tpl" "$W/bb.orig"
flip_byte "$tpl" 2000000
run U backup restore "$W/first.tar.zst" --as changed
check "a changed template is refused, named" matches "$rc:$err_out" "1:*template 'bb' version 1 here is not the one*"
check "and nothing is created" test "$(U --json list | jq_get 'len(d)')" = 0 -a -z "$(ls -A "$W/state/instances" | grep restore)"
cp -a "$W/bb.orig" "$tpl"
# the same template with another mtime (as on another host, copied): the sha256 matches, the
# restored COW is pointed at it (UML checks the backing file's mtime) and boots with the data
touch -d '2030-01-01 00:00:00' "$tpl"
run U backup restore "$W/first.tar.zst" --as moved
check "restore over a copied template (same content, new mtime)" matches "$rc:$out" "0:*restored moved*"
U start moved > /dev/null
wait_log moved UH-INIT-UP 20 || not_ok "moved boots"
run guest_sh moved 'cd /guestdata && sha256sum -c SUMS'
check "its COW was rebased: it boots with the backup's data" matches "$out" "*blob: OK*"
U delete --force moved > /dev/null
# removing the template the backups were made over would make them unrestorable
run U template rm bb
check "template rm is refused while backups were made over it" matches "$rc:$err_out" "1:*backups were made over*--force*"
run U template rm bb --force
check "template rm --force removes it anyway" test "$rc" = 0
# a restore whose template version is gone is refused, naming it
run U backup restore "$W/first.tar.zst" --as again
check "a missing template version is named" matches "$rc:$err_out" "1:*template 'bb' version 1 is missing*"
check "and nothing is created" test "$(U --json list | jq_get 'len(d)')" = 0
finish
