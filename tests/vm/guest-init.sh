#!/bin/bash
# tests/vm/guest-init.sh: PID 1 of the guest tests/vm/run.sh boots. The root
# is the host's, read-only over 9p; give the scripts the writable places they
# use, run the job the host left in the "out" share, report, power off.
# Runs only inside that guest: as PID 1 anywhere else it refuses.
if (($$ != 1)); then
	echo "guest-init.sh: only PID 1 of the tests/vm guest runs this" >&2
	exit 2
fi
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec 2>/dev/console
mount -t devtmpfs dev /dev
exec 2>/dev/console
mount -t proc proc /proc || echo "guest: mount proc failed" >&2
mount -t sysfs sys /sys
mkdir -p /dev/pts /dev/shm
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /dev/shm
for d in /tmp /run /var/tmp /var/run /var/log /root; do
	mount -t tmpfs tmp "$d" 2>/dev/null
done
mount -t tmpfs mnt /mnt
mkdir -p /mnt/out
mount -t 9p -o trans=virtio,version=9p2000.L out /mnt/out || {
	echo "guest: cannot mount the out share"
	echo o >/proc/sysrq-trigger
}
ip link set lo up
mapfile -t job </mnt/out/job
root=${job[0]}
rc=0
{
	echo "guest: kernel $(uname -r): $(grep -c . /proc/cpuinfo >/dev/null; nproc) cpu(s)"
	# Load what the scripts use now, once: first use of each module (and
	# the crypto self-tests of gcm(aes)) costs seconds under TCG, which
	# would otherwise land inside an agent's start-up deadline.
	modprobe -a esp4 xfrm_user vxlan bridge veth 2>&1
	ip xfrm state add src 127.0.0.1 dst 127.0.0.1 proto esp spi 0x100 mode transport \
		aead 'rfc4106(gcm(aes))' "0x$(printf '%072d' 0)" 128 2>&1 &&
		ip xfrm state flush
	grep -E '^name +: rfc4106' /proc/crypto | sort -u
	cd "$root" || exit 1
	for s in "${job[@]:1}"; do
		echo "guest: running $s"
		# Emulated CPU (TCG) is ~10x slower: the agents' store timeout
		# of the host's runs (2 s) cuts requests a loaded guest still
		# answers (a network create rewriting nftables took ~9 s).
		STORE_TIMEOUT=15 OVN_BIN=$root/build/bin timeout 800 bash "$s"
		r=$?
		echo "guest: $s exited $r"
		((r != 0 && rc == 0)) && rc=$r
	done
	echo "$rc" >/mnt/out/rc
} >/mnt/out/output 2>&1
sync
echo o >/proc/sysrq-trigger
sleep 10
