# shellcheck shell=sh
# The test host (L1) switches its root from the bed's initramfs to a tmpfs
# copy, as an init would with switch_root, then runs SCRIPT there. The
# jailer's pivot_root cannot leave an initramfs root (EINVAL), just as on a
# real host booted without switch_root, so every bed script that jails
# ignis starts here. Exported variables reach SCRIPT; this never returns.
#
# usage (as the bed's script): exec sh /bed/switch-root-l1.sh SCRIPT
set -u
mkdir -p /newroot
mount -t tmpfs tmpfs /newroot
for d in /*; do
	case $d in /proc | /sys | /dev | /newroot) ;; *) cp -a "$d" /newroot/ ;; esac
done
mkdir -p /newroot/proc /newroot/sys /newroot/dev
mount --move /proc /newroot/proc
mount --move /sys /newroot/sys
mount --move /dev /newroot/dev
cd /newroot && mount --move . / && exec chroot . /bin/sh "$1"
