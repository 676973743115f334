#!/bin/bash
# The seed's purpose end to end: three Debian bookworm servers from one template, each with its
# own public address (routed /32, proxy ARP) and web page, provisioned with cloud-init NoCloud
# (an SSH key given with --ssh-key), each with its own SSH host key, root login by key only.
# Everything inside two network namespaces this test creates ("host" runs umlhostd, "internet"
# is the other end of a veth); the image comes from scripts/template-build.sh (debootstrap
# needs the mirror, which the host namespace has), cached by its inputs' hash.
. "$(dirname "$0")/lib.sh"
need
for t in ssh ssh-keygen ssh-keyscan curl mmdebstrap mkfs.vfat mcopy; do
	command -v $t > /dev/null || die "$t missing (scripts/install-deps.sh)"
done
routed_pair

bash "$UH_SRC/scripts/template-build.sh" --out "$W/debian.img" --cache /var/cache/umlhost/templates > "$W/debian-build.log" 2>&1 ||
	{ tail -n 5 "$W/debian-build.log"; die "building the Debian image failed"; }
DAEMON_NETNS=$H start_daemon
use_hosting_kernel
U template import deb "$W/debian.img" > /dev/null
U network create pub --mode routed --pool 192.0.2.16/28 --uplink up0 > /dev/null
ssh-keygen -q -t ed25519 -N '' -C umlhost-test -f "$W/key"

run U create web1 --template deb --network pub --memory 256M --ssh-key "$W/key.pub"
check "create with --ssh-key" test "$rc" = 0
check "a read-only NoCloud seed disk, vfat labelled CIDATA" bash -c "test \"\$(stat -c %a '$W/state/instances/web1/seed.img')\" = 444 && blkid -o value -s LABEL '$W/state/instances/web1/seed.img' | grep -qx CIDATA"
check "its user-data holds the key, root by key only" bash -c "mtype -i '$W/state/instances/web1/seed.img' ::user-data | grep -q \"\$(cut -d' ' -f2 '$W/key.pub')\" && mtype -i '$W/state/instances/web1/seed.img' ::user-data | grep -qx 'ssh_pwauth: false'"
U create web2 --template deb --network pub --memory 256M --ssh-key "$W/key.pub" > /dev/null
U create web3 --template deb --network pub --memory 256M --ssh-key "$W/key.pub" > /dev/null
echo "not a key" > "$W/bad.pub"
run U create bad --template deb --network pub --ssh-key "$W/bad.pub"
check "a file that is no public key is refused, nothing created" matches "$rc:$err_out:$(U --json list | jq_get 'len(d)')" "1:*not an OpenSSH public key*:3"

for n in web1 web2 web3; do run U start "$n"; check "$n starts" test "$rc" = 0 || echo "#   $err_out"; done
i=0
for n in web1 web2 web3; do
	i=$((i + 1))
	ip=192.0.2.$((16 + i))
	page=""
	for k in $(seq 180); do
		page=$(ix curl -s -m 1 "http://$ip/" 2> /dev/null) && [ -n "$page" ] && break
		sleep 0.5
	done
	check "the internet gets $n's own page from $ip" test "$page" = "hello from $n at $ip"
done

# SSH: three different host keys; root login with the key; no passwords
keys=""
for ip in 192.0.2.17 192.0.2.18 192.0.2.19; do
	for k in $(seq 60); do
		key=$(ix ssh-keyscan -T 2 -t ed25519 "$ip" 2> /dev/null | awk '{print $3}')
		[ -n "$key" ] && break
		sleep 1
	done
	keys="$keys $key"
done
check "ssh-keyscan: three host keys, all different" test "$(echo $keys | tr ' ' '\n' | sort -u | grep -c .)" = 3
sshopt=(-i "$W/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o ConnectTimeout=5)
out=""
for k in $(seq 60); do
	out=$(ix ssh "${sshopt[@]}" root@192.0.2.18 'hostname; id -u' 2> /dev/null) && break
	sleep 1
done
check "SSH login as root with the --ssh-key key works" test "$out" = "web2
0"
run ix ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	-o PreferredAuthentications=password -o PubkeyAuthentication=no root@192.0.2.18 true
check "password login is off" matches "$rc:$err_out" "255:*Permission denied (publickey)*"
run ix ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes \
	-o PreferredAuthentications=publickey -i "$W/bad.pub" root@192.0.2.18 true
check "another key is refused" test "$rc" = 255

for n in web1 web2 web3; do U stop "$n" > /dev/null; done
check "after stopping: no tap, route or guard chain left" test -z "$(hx ip -o link show type tun)$(hx ip route | grep uh-)$(hx nft list table netdev umlhost 2> /dev/null | grep chain)"
finish
