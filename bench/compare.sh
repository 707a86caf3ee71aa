#!/usr/bin/env bash
# compare.sh — time drivecp side by side with curl and aria2 on one image,
# through `drivecp serve` with identical shaping for every tool.
#
#   bench/compare.sh [--size 256M] [--mix realistic] [--latency 20ms]
#                    [--conn-bandwidth 10MB/s] [--concurrency 8] [--runs 1]
#
# Peers, exactly as seed 004 §10 documents them (plus -sS --fail so errors
# stop the script):
#   curl upload    curl --request POST --user U:P --header 'Content-Type: application/octet-stream'
#                       --upload-file IMAGE DIRECT/drives/upload/
#   curl download  curl --location --remote-name --remote-header-name --user U:P DIRECT/drives/UUID/download/
#   aria2          aria2c -x8 -s8 -k4M SIGNED-URL, where SIGNED-URL is the API's redirect
#                  (curl -s -o /dev/null -w '%{redirect_url}' ...), so no credentials reach the
#                  storage host; asking for it is part of aria2's time.
# drivecp: v1 upload/download, v2 chunked/single upload, v2 ranged/single download, -c 8.
# Every download is checked with cmp against the image. All downloads read the
# drive drivecp's API 1.0 upload made, which has the image's exact size (a direct
# upload smaller than 512 MiB is grown to 512 MiB, which would make it longer).
#
# Times are wall seconds of each command (median of --runs); MB/s is image
# bytes (10^6) per second; "x curl" is curl's time over the row's time in the
# same direction (above 1: faster than curl). A drivecp path this build does not
# have (exit code 2, bad usage) shows as n/a. Needs go, and installs curl and
# aria2 with apt-get when missing. Not part of CI.
set -euo pipefail

size=256M mix=realistic latency=20ms bw=10MB/s conc=8 runs=1
while [ $# -gt 0 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	--mix) mix=$2; shift 2 ;;
	--latency) latency=$2; shift 2 ;;
	--conn-bandwidth) bw=$2; shift 2 ;;
	--concurrency) conc=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
	*) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
done

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/drivecp-compare.XXXXXX")
serve_pid=
cleanup() {
	if [ -n "$serve_pid" ]; then
		kill "$serve_pid" 2>/dev/null || true
		wait "$serve_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { echo "compare: $*" >&2; }

need=()
command -v curl >/dev/null || need+=(curl)
command -v aria2c >/dev/null || need+=(aria2)
if [ ${#need[@]} -gt 0 ]; then
	sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	log "installing ${need[*]} with apt-get"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

log "building drivecp from $root"
(cd "$root" && go build -o "$work/drivecp" .)
drivecp=$work/drivecp

image=$work/image.raw
"$drivecp" bench --make-image "$image" --size "$size" --mix "$mix"
bytes=$(stat -c %s "$image")

"$drivecp" serve --addr 127.0.0.1:0 --data "$work/data" --latency "$latency" --conn-bandwidth "$bw" \
	>"$work/serve.out" 2>"$work/serve.err" &
serve_pid=$!
for _ in $(seq 100); do
	[ "$(wc -l <"$work/serve.out")" -ge 3 ] && break
	kill -0 "$serve_pid" 2>/dev/null || { cat "$work/serve.err" >&2; exit 1; }
	sleep 0.1
done
{ read -r url; read -r user; read -r pass; } <"$work/serve.out"
direct=${url}api/2.0
export CLOUDSIGMA_ENDPOINT=$url CLOUDSIGMA_USERNAME=$user CLOUDSIGMA_PASSWORD=$pass
export XDG_STATE_HOME=$work/state # no checkpoint of one run is resumed by the next
log "drivecp serve at $url, latency $latency, $bw per connection; image $size $mix"

now() { date +%s.%N; }
# timed NAME CMD...: runs CMD, stdout to $work/out, and appends its wall
# seconds to $work/t.NAME; exit code 2 marks NAME n/a.
timed() {
	local name=$1 t0 t1 rc=0
	shift
	sync
	t0=$(now)
	"$@" >"$work/out" 2>"$work/err" || rc=$?
	t1=$(now)
	if [ $rc -eq 2 ]; then
		log "$name: n/a: $(grep -m1 'error:' "$work/err" || true)"
		touch "$work/na.$name"
		return 0
	elif [ $rc -ne 0 ]; then
		log "$name failed (exit $rc):"
		cat "$work/err" >&2
		exit 1
	fi
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$work/t.$name"
	log "$name: $(tail -1 "$work/t.$name")s"
}
check() { # check NAME FILE: the download must equal the image
	[ -e "$work/na.$1" ] && return 0
	cmp "$image" "$2" || { log "$1: downloaded file differs from the image"; exit 1; }
	rm -f "$2"
}
aria() { # the signed URL, then aria2 on it without credentials
	local signed
	signed=$(curl -s -o /dev/null -w '%{redirect_url}' -u "$user:$pass" "$direct/drives/$src/download/")
	[ -n "$signed" ] || { echo "no redirect from the download endpoint" >&2; return 1; }
	aria2c -x8 -s8 -k4M -q --allow-overwrite=true --auto-file-renaming=false \
		-d "$work/dl" -o aria.img "$signed"
}
mkdir -p "$work/dl"

# The download source: drivecp's API 1.0 upload (exact size).
src=$("$drivecp" upload "$image" --api v1 -c "$conc" --quiet --name compare-source)

for _ in $(seq "$runs"); do
	timed curl-upload curl -sS --fail --request POST --user "$user:$pass" \
		--header 'Content-Type: application/octet-stream' \
		--upload-file "$image" "$direct/drives/upload/"
	timed drivecp-v1-upload "$drivecp" upload "$image" --api v1 -c "$conc" --quiet
	timed drivecp-v2-upload "$drivecp" upload "$image" --api v2 -c "$conc" --quiet
	timed drivecp-v2-single-upload "$drivecp" upload "$image" --api v2 --single --quiet

	(cd "$work/dl" && timed curl-download curl -sS --fail --location --remote-name --remote-header-name \
		--user "$user:$pass" "$direct/drives/$src/download/")
	check curl-download "$work/dl/$src"
	timed aria2-download aria
	check aria2-download "$work/dl/aria.img"
	timed drivecp-v1-download "$drivecp" download "$src" --api v1 -c "$conc" -o "$work/dl/v1.img" --force --quiet
	check drivecp-v1-download "$work/dl/v1.img"
	timed drivecp-v2-download "$drivecp" download "$src" --api v2 -c "$conc" -o "$work/dl/v2.img" --force --quiet
	check drivecp-v2-download "$work/dl/v2.img"
	timed drivecp-v2-single-download "$drivecp" download "$src" --api v2 --single -o "$work/dl/v2s.img" --force --quiet
	check drivecp-v2-single-download "$work/dl/v2s.img"
done

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "drivecp vs curl and aria2: $(numfmt --to=iec "$bytes") $mix image, drivecp serve --latency $latency --conn-bandwidth $bw, $(nproc) CPUs, median of $runs run(s)"
printf '%-28s %-44s %9s %9s %8s\n' TOOL COMMAND SECONDS MB/s "x curl"
row() { # row NAME BASELINE DESCRIPTION
	local s base
	if [ -e "$work/na.$1" ] || [ ! -e "$work/t.$1" ]; then
		printf '%-28s %-44s %9s %9s %8s\n' "$1" "$3" n/a - -
		return
	fi
	s=$(median "$work/t.$1")
	base=$(median "$work/t.$2")
	awk -v n="$1" -v d="$3" -v s="$s" -v b="$bytes" -v c="$base" \
		'BEGIN { printf "%-28s %-44s %9.2f %9.1f %8.2f\n", n, d, s, b / 1e6 / s, c / s }'
}
row curl-upload curl-upload "curl --upload-file (one request)"
row drivecp-v1-upload curl-upload "drivecp upload --api v1 -c $conc"
row drivecp-v2-upload curl-upload "drivecp upload --api v2 -c $conc"
row drivecp-v2-single-upload curl-upload "drivecp upload --api v2 --single"
row curl-download curl-download "curl -L (one stream)"
row aria2-download curl-download "aria2c -x8 -s8 -k4M"
row drivecp-v1-download curl-download "drivecp download --api v1 -c $conc"
row drivecp-v2-download curl-download "drivecp download --api v2 -c $conc"
row drivecp-v2-single-download curl-download "drivecp download --api v2 --single"
