#!/bin/bash
# Install everything umlhost needs to build, test and run on Debian 12 (run as root).
# The list and the reason for each package is in README.md; keep the two in step.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
	# build
	gcc meson ninja-build pkg-config
	# libraries
	libjansson-dev libsqlite3-dev libmicrohttpd-dev libsystemd-dev libcap-dev libseccomp-dev libmnl-dev libnftables-dev
	libarchive-dev libzstd-dev nettle-dev libssh-dev libgnutls28-dev libncurses-dev libyaml-dev
	# tests
	libcmocka-dev clang libclang-rt-14-dev python3 file procps util-linux sqlite3
	# running and testing UML instances
	user-mode-linux uml-utilities busybox-static e2fsprogs iproute2 nftables curl
	# building the hosting kernel (umlhost kernel build)
	linux-source-6.1 make libc6-dev flex bison bc xz-utils ccache binutils patch
	# building Debian templates
	mmdebstrap dosfstools mtools openssh-client
	# tests: GNU tar --zstd opens backup archives the way an admin would; a real sshd is the
	# SFTP target; bench/backup.sh: the reflink case on a loop-mounted XFS, the seed's bzip2
	zstd openssh-server xfsprogs bzip2
	# tests: fault injection (a slow monitor) with strace
	strace
	# tests: the HTTPS API's certificate fingerprint, checked with another tool than ours;
	# /metrics read by Prometheus's own Python parser; the console WebSocket driven by the
	# websockets client library
	openssl python3-prometheus-client python3-websockets
	# tests: umlhost top on a real terminal
	tmux
	# tests: the man pages render without a warning (groff) and name every key (man -l)
	groff-base man-db
	# the web panel's libraries come from npm (ui/package-lock.json); its tests drive a real
	# browser
	nodejs chromium chromium-driver python3-selenium
)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
# Debian's nodejs comes without npm (NodeSource's has it built in)
command -v npm > /dev/null || apt-get install -y -q --no-install-recommends npm
# the panel's pinned libraries, exactly as the lock file says (no install scripts run)
npm ci --prefix "$(dirname "$0")/../ui" --ignore-scripts --no-audit --no-fund > /dev/null
