#!/usr/bin/env bash
# tests/vm/run.sh: run netns test scripts inside a QEMU guest booted with
# Debian's own kernel (linux-image-amd64), for what the host's kernel
# cannot do. Made for test_encrypt.sh on hosts whose kernel lacks IPsec ESP
# or AES-GCM (CONFIG_INET_ESP, CONFIG_CRYPTO_GCM).
#
#   sudo tests/vm/run.sh [tests/netns/test_x.sh ...]   (default: test_encrypt.sh)
#
# The guest sees the host's root file system read-only over virtio-9p (so
# the same binaries, redis-server, tcpdump, jq ... and this worktree's
# build/), tmpfs on /tmp, /run, /var/tmp, /var/lib/ovn, and one read-write
# share for its report. A tiny initramfs (busybox + the 9p and virtio
# modules of that kernel) mounts the share and switch_roots into it; the
# guest's init (tests/vm/guest-init.sh) runs the scripts and powers off.
# The scripts' output is printed here; the exit status is the scripts'.
#
# Knobs: VM_KERNEL (default: newest /boot/vmlinuz-*), VM_MEM (MiB, 2048),
# VM_CPUS (2), VM_TIMEOUT (seconds, 900), VM_KVM (auto: use /dev/kvm when a
# probe boot works; "no" forces TCG, which is slower but works anywhere).
# Skips (exit 4) without qemu-system-x86_64, a kernel image or its modules.
#
# Does not: give the guest a network outside itself (no NIC at all), or
# write anything on the host outside a mktemp directory it removes.
set -uo pipefail

ksft_skip=4
HERE=$(dirname "$(readlink -f "$0")")
ROOT=$(readlink -f "$HERE/../..")
VM_MEM=${VM_MEM:-2048}
VM_CPUS=${VM_CPUS:-2}
VM_TIMEOUT=${VM_TIMEOUT:-900}
WORK=""

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup()
{
	[[ -n $WORK && -d $WORK ]] && rm -rf "$WORK"
}
trap cleanup EXIT

skip()
{
	echo "SKIP: $*"
	exit "$ksft_skip"
}

pick_kernel()
{
	local k

	if [[ -n ${VM_KERNEL:-} ]]; then
		echo "$VM_KERNEL"
		return
	fi
	# shellcheck disable=SC2012  # names are /boot/vmlinuz-<version>
	for k in $(ls -1v /boot/vmlinuz-* 2>/dev/null | tac); do
		[[ -d /lib/modules/${k#/boot/vmlinuz-} ]] && { echo "$k"; return; }
	done
}

# initramfs KVER DIR: busybox, the modules to mount a virtio-9p root, /init.
initramfs()
{
	local kver=$1 dir=$2 m line

	mkdir -p "$dir/bin" "$dir/mods" "$dir/proc" "$dir/sys" "$dir/dev" "$dir/newroot" \
		"$dir/out" || return 1
	cp /usr/bin/busybox "$dir/bin/busybox" || return 1
	# modprobe prints the insmod lines in dependency order, per module.
	for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -S "$kver" --show-depends "$m" 2>/dev/null
	done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }' >"$dir/mods/order" || return 1
	[[ -s $dir/mods/order ]] || return 1
	while read -r line; do
		cp "$line" "$dir/mods/" || return 1
	done <"$dir/mods/order"
	sed -i 's|.*/||' "$dir/mods/order"
	cat >"$dir/init" <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox mount -t proc proc /proc
		/bin/busybox mount -t devtmpfs dev /dev
		for m in $(/bin/busybox cat /mods/order); do
			/bin/busybox insmod /mods/"$m"
		done
		/bin/busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose hostroot /newroot ||
			{ echo "vm: cannot mount the host root"; /bin/busybox poweroff -f; }
		/bin/busybox umount /proc
		/bin/busybox umount /dev
		exec /bin/busybox switch_root /newroot /bin/bash "$(/bin/busybox cat /guest-init-path)"
	EOF
	chmod +x "$dir/init"
	echo "$HERE/guest-init.sh" >"$dir/guest-init-path"
	(cd "$dir" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$WORK/initrd.gz"
}

# kvm_works KERNEL: a probe boot under KVM reaches the kernel's console.
kvm_works()
{
	[[ ${VM_KVM:-auto} == no || ! -w /dev/kvm ]] && return 1
	timeout 10 qemu-system-x86_64 -enable-kvm -cpu host -m 256 -nographic -no-reboot \
		-kernel "$1" -append "console=ttyS0 panic=-1" 2>/dev/null |
		grep -q -m1 'Linux version'
}

main()
{
	local kernel kver accel=() rc scripts=("$@") s

	command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
	kernel=$(pick_kernel)
	[[ -n $kernel && -r $kernel ]] || skip "no kernel image in /boot (apt-get install linux-image-amd64)"
	kver=${kernel#/boot/vmlinuz-}
	((${#scripts[@]})) || scripts=(tests/netns/test_encrypt.sh)
	for s in "${scripts[@]}"; do
		[[ -f $ROOT/$s ]] || { echo "no such script: $ROOT/$s" >&2; exit 2; }
	done
	[[ -x $ROOT/build/bin/ovnagent ]] || { echo "build first (make)" >&2; exit 2; }
	WORK=$(mktemp -d /tmp/ovn-vm.XXXXXX) || exit 1
	mkdir -p "$WORK/out"
	initramfs "$kver" "$WORK/initramfs" || skip "cannot build an initramfs for $kver"
	printf '%s\n' "$ROOT" "${scripts[@]}" >"$WORK/out/job"
	if kvm_works "$kernel"; then
		accel=(-enable-kvm -cpu host)
	else
		accel=(-cpu max)
	fi
	echo "vm: kernel $kver, ${accel[0]/-cpu/TCG}, scripts: ${scripts[*]}"
	timeout "$VM_TIMEOUT" qemu-system-x86_64 "${accel[@]}" -smp "$VM_CPUS" -m "$VM_MEM" \
		-nographic -no-reboot -nic none \
		-kernel "$kernel" -initrd "$WORK/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 loglevel=3" \
		-fsdev local,id=r,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=r,mount_tag=hostroot \
		-fsdev local,id=o,path="$WORK/out",security_model=none \
		-device virtio-9p-pci,fsdev=o,mount_tag=out \
		>"$WORK/console.log" 2>&1
	rc=$?
	if [[ -f $WORK/out/output ]]; then
		cat "$WORK/out/output"
	else
		echo "vm: no output from the guest (qemu exit $rc); console:"
		tail -n 40 "$WORK/console.log"
	fi
	[[ -n ${VM_CONSOLE:-} ]] && grep -v "^\s*$" "$WORK/console.log" | head -n 40
	[[ -f $WORK/out/rc ]] || { echo "vm: the guest did not finish (timeout ${VM_TIMEOUT}s?)"; exit 1; }
	exit "$(cat "$WORK/out/rc")"
}

main "$@"
