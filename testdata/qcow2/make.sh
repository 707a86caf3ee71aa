#!/bin/sh
# Regenerates the qcow2 fixtures and their SHA256SUMS. Needs qemu-img and
# qemu-io (Debian/Ubuntu: apt-get install qemu-utils) and python3. Tests do
# not run this: they read the committed files.
set -eu
cd "$(dirname "$0")"
rm -f *.qcow2 *.bz2 *.map.json SHA256SUMS
# 768 KiB of mixed content: data, zeros, data not aligned to clusters,
# zeros, and data in the last cluster.
python3 - <<'PY'
import random
r = random.Random(19)
def data(n): return bytes(r.getrandbits(8) for _ in range(n))
b = bytearray(768 * 1024)
b[0:65536] = data(65536)
b[196608:196608 + 100000] = data(100000)
b[720896 + 4096:720896 + 4096 + 3000] = data(3000)
open("content.raw", "wb").write(b)
base = bytearray(768 * 1024)
base[0:262144] = data(262144)
base[524288:589824] = data(65536)
open("base.raw", "wb").write(base)
PY
qemu-img convert -f raw -O qcow2 -o compat=1.1 content.raw plain-v3.qcow2
qemu-img convert -f raw -O qcow2 -o compat=0.10 content.raw plain-v2.qcow2
qemu-img convert -f raw -O qcow2 -c content.raw compressed.qcow2
qemu-img convert -f raw -O qcow2 -o cluster_size=4096 content.raw small-clusters.qcow2
# A backing chain: base.qcow2 <- overlay.qcow2, whose own writes cover part
# of the base with new data, and explicit zero clusters over base data.
qemu-img convert -f raw -O qcow2 base.raw base.qcow2
qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 overlay.qcow2 768K
qemu-io -f qcow2 -c 'write -P 0x5a 65536 65536' -c 'write -z 131072 65536' \
	-c 'write -P 0xa5 393216 4096' overlay.qcow2 >/dev/null
for f in plain-v3 plain-v2 compressed small-clusters base overlay; do
	qemu-img convert -f qcow2 -O raw "$f.qcow2" "$f.out"
	printf '%s  %s.qcow2\n' "$(sha256sum "$f.out" | cut -d' ' -f1)" "$f" >>SHA256SUMS
	qemu-img map --output=json "$f.qcow2" >"$f.map.json"
	rm "$f.out"
done
# bzip2 has no writer in Go's standard library, so its stream fixtures are
# made here: the raw content, and a bzip2-compressed qcow2 (refused).
bzip2 -9c content.raw >content.raw.bz2
bzip2 -9c plain-v3.qcow2 >plain-v3.qcow2.bz2
rm -f content.raw base.raw
