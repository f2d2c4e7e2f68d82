#!/usr/bin/env bash
# make bench: measures Tuku against the reference tools, side by side in one
# run, and writes bench/results.md (DESIGN.md §4). Run through `make bench`,
# which builds bin/tuku and installs libvips-tools and exiftool first.
#
#   1. generates its data once under bench/out/data (delete it to regenerate):
#      200 distinct 12 MP JPEGs with EXIF, one 100 MP JPEG, ~3200 small JPEGs
#   2. ingest: `tuku import` of the 200 vs vipsthumbnail + sha256sum + exiftool
#   3. re-import of an unchanged folder of small files
#   4. peak memory of the process tree while importing the 100 MP file
#   5. cached thumbnail serving vs a plain Go http.FileServer (wrk, loopback)
#   6. a gallery page of 10,000 assets (Go benchmark, loopback)
#   7. writes and prints bench/results.md
#
# Figures that miss a target are reported, not fatal; the script exits
# non-zero only when a measurement could not be taken.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
TUKU=$ROOT/bin/tuku
OUT=$ROOT/bench/out            # gitignored
DATA=$OUT/data                 # generated once, reused across runs
RUN=$OUT/run                   # this run's data dirs and logs, fresh each run
BIN=$OUT/bin                   # the bench helpers
RESULTS=$ROOT/bench/results.md
ROWS=$RUN/rows                 # figure|value|target|met, one per line
FAILS=$RUN/failures
CORPUS=${TUKU_CORPUS:-$ROOT/../shared/corpus}
GEN_VERSION=3                  # bump when the generated data set changes
N12=200                        # 12 MP images
CONNS=16                       # serving: connections
DURATION=${BENCH_DURATION:-10} # serving: seconds per server
WRK_THREADS=1                  # one load thread leaves the other core to the server

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
# calc EXPR: floating-point arithmetic through awk.
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# row FIGURE VALUE TARGET MET: one line of the results table.
row() { printf '%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" >>"$ROWS"; }
# met COND: "met" or "**not met**" for an awk condition.
met() { if awk "BEGIN { exit !($1) }"; then echo met; else echo '**not met**'; fi; }
warm() { cat "$@" >/dev/null; }
kv() { sed -n "s/^$1=//p" "$2" | tail -n1; }

# ---------------------------------------------------------------- tools

ensure_tools() {
  local missing=() p
  for p in time wrk libvips-tools libimage-exiftool-perl curl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq >&2
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
  [ -x "$TUKU" ] || die "$TUKU is missing: run make bench (it builds first)"
  mkdir -p "$BIN"
  go build -o "$BIN/" ./bench/treerss ./bench/fileserver
}

# ---------------------------------------------------------------- data set

# mkbase SRC OUT W H BRIGHTNESS FLIP NOISE: OUT (.v) is SRC scaled to cover
# WxH, centre-cropped, brightness-scaled, optionally mirrored, plus the
# shared grain image NOISE so that the JPEGs have a camera's entropy (an
# upscaled photo alone is too smooth and decodes unrealistically fast).
mkbase() {
  local src=$1 out=$2 W=$3 H=$4 a=$5 flip=$6 noise=$7 w h s rw rh
  w=$(vipsheader -f width "$src")
  h=$(vipsheader -f height "$src")
  s=$(calc "($W/$w > $H/$h ? $W/$w : $H/$h) * 1.002" 6)
  vips resize "$src" "$SCR/r.v" "$s"
  rw=$(vipsheader -f width "$SCR/r.v")
  rh=$(vipsheader -f height "$SCR/r.v")
  vips extract_area "$SCR/r.v" "$SCR/c.v" $(((rw - W) / 2)) $(((rh - H) / 2)) "$W" "$H"
  if [ "$flip" = 1 ]; then
    vips flip "$SCR/c.v" "$SCR/f.v" horizontal
    mv "$SCR/f.v" "$SCR/c.v"
  fi
  vips linear "$SCR/c.v" "$SCR/l.v" "$a" 0
  vips add "$SCR/l.v" "$noise" "$SCR/n.v"
  vips cast "$SCR/n.v" "$out" uchar # clips to 0..255
  rm -f "$SCR/r.v" "$SCR/c.v" "$SCR/l.v" "$SCR/n.v"
}

# synthbase OUT W H SEED: a textured colour image when there is no corpus.
synthbase() {
  local out=$1 W=$2 H=$3 seed=$4
  vips perlin "$SCR/p0.v" "$W" "$H" --cell-size 300 --uchar --seed "$seed"
  vips perlin "$SCR/p1.v" "$W" "$H" --cell-size 200 --uchar --seed $((seed + 1))
  vips perlin "$SCR/p2.v" "$W" "$H" --cell-size 420 --uchar --seed $((seed + 2))
  vips bandjoin "$SCR/p0.v $SCR/p1.v $SCR/p2.v" "$SCR/pj.v"
  vips copy "$SCR/pj.v" "$out" --interpretation srgb
  rm -f "$SCR"/p?.v "$SCR/pj.v"
}

gen_data() {
  if [ "$(cat "$DATA/.complete" 2>/dev/null)" = "$GEN_VERSION" ]; then
    log "reusing the data set in ${DATA#"$ROOT"/}"
    return
  fi
  log "generating the data set in ${DATA#"$ROOT"/} (once; a few minutes)"
  local t0 i b
  t0=$(now)
  rm -rf "$DATA"
  mkdir -p "$DATA/12mp" "$DATA/100mp" "$DATA/small"
  if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    SCR=$(mktemp -d /dev/shm/tuku-bench.XXXXXX)
  else
    SCR=$(mktemp -d "$OUT/scratch.XXXXXX")
  fi
  # Bases are 4600x3500 so that crops at different offsets differ.
  local BW=4600 BH=3500 sources=()
  vips gaussnoise "$SCR/noise.v" $BW $BH --mean 0 --sigma 6
  local src
  for src in canon_hdr_NO.jpg Reconyx_HC500_Hyperfire.jpg HMD_Nokia_8.3_5G.jpg \
    45-gps_ifd.jpg 33-type_error.jpg 67-0_length_string.jpg; do
    [ -f "$CORPUS/camera/$src" ] && sources+=("$CORPUS/camera/$src")
  done
  [ ${#sources[@]} -gt 0 ] || log "no corpus at $CORPUS: using synthetic textures"
  local nbase=$((${#sources[@]} > 0 ? ${#sources[@]} * 3 : 6))
  local bright=(0.9 1.0 1.1)
  for ((b = 0; b < nbase; b++)); do
    if [ ${#sources[@]} -gt 0 ]; then
      mkbase "${sources[b / 3]}" "$SCR/base.v" $BW $BH "${bright[b % 3]}" $((b % 3 == 1)) "$SCR/noise.v"
    else
      synthbase "$SCR/p.v" $BW $BH $((b * 7))
      vips add "$SCR/p.v" "$SCR/noise.v" "$SCR/pn.v"
      vips cast "$SCR/pn.v" "$SCR/base.v" uchar
      rm -f "$SCR/p.v" "$SCR/pn.v"
    fi
    # Every image is a different crop of a base: distinct bytes and hashes.
    # shellcheck disable=SC2016 # the $N are sh -c's, not ours
    for ((i = b; i < N12; i += nbase)); do
      printf '%d %d IMG_%04d\n' $(((i * 193) % (BW - 4000))) $(((i * 71) % (BH - 3000))) "$i"
    done | xargs -n 3 -P 2 sh -c 'exec vips extract_area "$0" "$1/$4.jpg[Q=90,strip]" "$2" "$3" 4000 3000' "$SCR/base.v" "$DATA/12mp"
  done
  rm -f "$SCR/base.v" "$SCR/noise.v"

  # 100 MP: a collage of 12 of the 12 MP images (3 across, 4 down), cropped to 10000x10000.
  log "generating the 100 MP image"
  local tiles=()
  for i in $(seq 0 11); do tiles+=("$DATA/12mp/$(printf 'IMG_%04d' $((i * 13 % N12))).jpg"); done
  vips arrayjoin "${tiles[*]}" "$SCR/big.v" --across 3
  vips extract_area "$SCR/big.v" "$DATA/100mp/IMG_100MP.jpg[Q=90,strip]" 1000 1000 10000 10000
  rm -f "$SCR/big.v"

  # Small files: 250 px tiles of the 100 MP image and of its mirror image.
  log "generating the small files"
  vips dzsave "$DATA/100mp/IMG_100MP.jpg" "$SCR/dz0" --tile-size 250 --overlap 0 --depth one --suffix '.jpg[Q=85]'
  vips flip "$DATA/100mp/IMG_100MP.jpg" "$SCR/flip.v" horizontal
  vips dzsave "$SCR/flip.v" "$SCR/dz1" --tile-size 250 --overlap 0 --depth one --suffix '.jpg[Q=85]'
  for b in 0 1; do
    (cd "$SCR/dz${b}_files/0" && for f in *.jpg; do mv "$f" "$DATA/small/t${b}_$f"; done)
  done
  rm -rf "$SCR"/dz* "$SCR/flip.v"

  # EXIF for the 12 MP and the 100 MP files in one exiftool run.
  log "writing EXIF"
  local makes=("Canon|Canon EOS R6" "NIKON CORPORATION|NIKON Z 6_2" "SONY|ILCE-7M3"
    "Apple|iPhone 13 Pro" "HUAWEI|ELS-AN00" "Xiaomi|2211133C")
  {
    i=0
    for f in "$DATA"/12mp/*.jpg "$DATA/100mp/IMG_100MP.jpg"; do
      local mk=${makes[i % ${#makes[@]}]}
      printf -- '-Make=%s\n-Model=%s\n' "${mk%%|*}" "${mk#*|}"
      printf -- '-DateTimeOriginal=2024:%02d:%02d %02d:%02d:%02d\n' $((i % 12 + 1)) $((i % 28 + 1)) $((8 + i % 10)) $((i % 60)) $((i * 7 % 60))
      [ $((i % 3)) = 0 ] && printf -- '-OffsetTimeOriginal=+08:00\n'
      if [ $((i % 5)) != 4 ]; then
        printf -- '-GPSLatitude=%s\n-GPSLatitudeRef=N\n-GPSLongitude=%s\n-GPSLongitudeRef=E\n' \
          "$(calc "31.2 + $i * 0.0013" 6)" "$(calc "121.4 + $i * 0.0017" 6)"
      fi
      printf -- '-overwrite_original\n%s\n-execute\n' "$f"
      i=$((i + 1))
    done
  } >"$SCR/exif.args"
  exiftool -@ "$SCR/exif.args" -common_args -q -q
  rm -rf "$SCR"

  # Check the set is what the figures claim.
  local n smin smax
  n=$(find "$DATA/12mp" -name '*.jpg' | wc -l)
  [ "$n" = "$N12" ] || die "generated $n 12 MP files, want $N12"
  read -r smin smax < <(stat -c %s "$DATA"/12mp/*.jpg | sort -n | sed -n '1p;$p' | paste -sd' ')
  awk "BEGIN { exit !($smin >= 3e6 && $smax <= 6e6) }" || die "12 MP files are $smin..$smax bytes, want 3-6 MB"
  exiftool -s -s -s -Make -DateTimeOriginal -GPSLatitude "$DATA/12mp/IMG_0000.jpg" | grep -q . || die "EXIF was not written"
  echo "$GEN_VERSION" >"$DATA/.complete"
  log "data set generated in $(calc "$(now) - $t0" 0) s"
}

# ---------------------------------------------------------------- phases

# import_timed NAME DATADIR PATH...: wall time and ru_maxrss of one import.
import_timed() {
  local name=$1 dir=$2 t0 t1 rc=0
  shift 2
  t0=$(now)
  /usr/bin/time -f %M -o "$RUN/$name.maxrss" "$TUKU" import "$@" --customer BENCH --json --data "$dir" \
    >"$RUN/$name.jsonl" 2>"$RUN/$name.log" || rc=$?
  t1=$(now)
  printf '%s\n' "$(calc "$t1 - $t0")" >"$RUN/$name.wall"
  [ "$rc" = 0 ] || log "$name: tuku import exited $rc (see ${RUN#"$ROOT"/}/$name.log)"
}
count() { grep -c "\"status\":\"$1\"" "$RUN/$2.jsonl" || true; }

phase_ingest() {
  log "ingest: ${N12} x 12 MP"
  local files=("$DATA"/12mp/*.jpg)
  local n=${#files[@]}
  mkdir -p "$RUN/floor"
  # Page cache: both sides read the files warm, so both measure CPU.
  warm "${files[@]}"
  local t0 t1 t2 t3
  t0=$(now)
  vipsthumbnail -s 400 -o "$RUN/floor/%s.jpg[Q=80,strip]" "${files[@]}"
  t1=$(now)
  sha256sum "${files[@]}" >/dev/null
  t2=$(now)
  exiftool -json "${files[@]}" >/dev/null
  t3=$(now)
  local fv fs fe floor
  fv=$(calc "$t1 - $t0") fs=$(calc "$t2 - $t1") fe=$(calc "$t3 - $t2") floor=$(calc "$t3 - $t0")
  echo "vipsthumbnail=$fv sha256sum=$fs exiftool=$fe" >"$RUN/floor.times"

  local d=$RUN/tuku-12mp
  "$TUKU" customer add "Bench Photos" --code BENCH --data "$d" >/dev/null
  warm "${files[@]}"
  import_timed import12 "$d" "$DATA/12mp"
  local wall imported
  wall=$(cat "$RUN/import12.wall")
  imported=$(count imported import12)
  local rate frate ratio
  rate=$(calc "$n / $wall" 1) frate=$(calc "$n / $floor" 1) ratio=$(calc "$wall / $floor" 2)
  row "Ingest 12 MP: \`tuku import\` ($imported of $n imported)" "$rate images/s ($wall s)" "≥ 17 images/s" "$(met "$rate >= 17 && $imported == $n")"
  row "Ingest 12 MP: floor (vipsthumbnail $fv s + sha256sum $fs s + exiftool $fe s)" "$frate images/s ($floor s)" "—" "—"
  row "Ingest 12 MP: time tuku / floor" "${ratio}×" "≤ 1.0×" "$(met "$ratio <= 1.0 && $imported == $n")"
  row "Ingest 12 MP: peak RSS, largest single process (GNU time %M)" "$(calc "$(tail -n1 "$RUN/import12.maxrss") / 1024" 0) MB" "—" "—"
}

phase_previews() {
  # The background renditions (previews) queued by the ingest; drained here
  # so that they do not run under the serving load.
  log "background previews: tuku worker --drain"
  local d=$RUN/tuku-12mp t0 t1 rc=0
  t0=$(now)
  "$TUKU" worker --drain --data "$d" >"$RUN/drain.log" 2>&1 || rc=$?
  t1=$(now)
  [ "$rc" = 0 ] || { log "tuku worker --drain exited $rc"; return 1; }
  row "Background previews after ingest (\`tuku worker --drain\`)" "$(calc "$N12 / ($t1 - $t0)" 1) images/s ($(calc "$t1 - $t0") s)" "—" "—"
}

phase_reimport() {
  local files=("$DATA"/small/*.jpg) n
  n=${#files[@]}
  log "re-import: $n small files"
  local d=$RUN/tuku-small
  "$TUKU" customer add "Bench Small" --code BENCH --data "$d" >/dev/null
  import_timed small1 "$d" "$DATA/small"
  # Re-imports take a fraction of a second: three, the median kept, so
  # that a burst of other work on the machine does not decide. And the
  # fixed cost of a command (start-up, opening the database), from
  # re-importing one file, to show the per-file rate apart from it.
  local r
  for r in a b c; do
    import_timed "small2$r" "$d" "$DATA/small"
    import_timed "small3$r" "$d" "${files[0]}"
  done
  local w1 w2 w3 i1 dup2 rate net m3
  w1=$(cat "$RUN/small1.wall")
  w2=$(cat "$RUN"/small2?.wall | sort -n | sed -n 2p)
  w3=$(cat "$RUN"/small3?.wall | sort -n | sed -n 2p)
  i1=$(count imported small1)
  dup2=$(( $(count duplicate small2a) + $(count duplicate small2b) + $(count duplicate small2c) ))
  m3=$((3 * n))
  rate=$(calc "$n / $w2" 0)
  net=$(awk "BEGIN { d = $w2 - $w3; if (d > 0) printf \"%.0f\", ($n - 1) / d; else print \"n/a\" }")
  row "First import of the small files ($i1 of $n imported)" "$(calc "$n / $w1" 1) files/s ($w1 s)" "—" "—"
  row "Re-import, unchanged folder: whole command (median of 3: $(cat "$RUN"/small2?.wall | paste -sd/) s)" "$rate files/s ($w2 s for $n files)" "≥ 10,000 files/s" "$(met "$rate >= 10000")"
  row "Re-import: files reported \"duplicate\" over the 3 runs" "$dup2 of $m3" "all" "$(met "$dup2 == $m3")"
  row "Re-import: per file, less a one-file import's $w3 s start-up" "$net files/s" "—" "—"
}

phase_100mp() {
  log "ingest memory: 100 MP"
  local d=$RUN/tuku-100mp f=$DATA/100mp/IMG_100MP.jpg rc=0
  "$TUKU" customer add "Bench Big" --code BENCH --data "$d" >/dev/null
  warm "$f"
  "$BIN/treerss" -o "$RUN/import100.mem" -- "$TUKU" import "$f" --customer BENCH --json --data "$d" \
    >"$RUN/import100.jsonl" 2>"$RUN/import100.log" || rc=$?
  [ "$rc" = 0 ] || log "100 MP import exited $rc (see ${RUN#"$ROOT"/}/import100.log)"
  local m=$RUN/import100.mem rss pss mx st
  rss=$(calc "$(kv tree_rss_peak_kb "$m") / 1024" 0)
  pss=$(calc "$(kv tree_pss_peak_kb "$m") / 1024" 0)
  mx=$(calc "$(kv max_maxrss_kb "$m") / 1024" 0)
  st=$(count imported import100)
  row "Ingest 100 MP: peak RSS of the process tree, summed (sampled every 20 ms; $st imported in $(kv wall_s "$m") s)" "$rss MB" "< 300 MB" "$(met "$rss < 300 && $st == 1")"
  row "Ingest 100 MP: peak PSS of the process tree (shared pages counted once)" "$pss MB" "—" "—"
  row "Ingest 100 MP: largest single process peak (ru_maxrss)" "$mx MB" "—" "—"

  # Its larger rendition is made by a background job after the import.
  rc=0
  "$BIN/treerss" -o "$RUN/drain100.mem" -- "$TUKU" worker --drain --data "$d" >"$RUN/drain100.log" 2>&1 || rc=$?
  [ "$rc" = 0 ] || { log "tuku worker --drain exited $rc (see ${RUN#"$ROOT"/}/drain100.log)"; return 1; }
  m=$RUN/drain100.mem
  rss=$(calc "$(kv tree_rss_peak_kb "$m") / 1024" 0)
  row "100 MP background preview (\`tuku worker --drain\`, $(kv wall_s "$m") s): peak RSS of the tree, summed (PSS $(calc "$(kv tree_pss_peak_kb "$m") / 1024" 0) MB)" "$rss MB" "< 300 MB" "$(met "$rss < 300")"
}

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

wait_url() { # URL SECONDS [curl args]
  local url=$1 deadline
  deadline=$(($(date +%s) + $2))
  shift 2
  until curl -fsS -o /dev/null "$@" "$url" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# wrk_ms LATENCY: wrk's "512.00us" / "1.20ms" / "1.01s" in milliseconds.
wrk_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else print "n/a" }'
}

# load NAME URL [warm]: bounded load (DURATION s, after a 2 s warm-up if
# asked) with wrk, output in wrk-NAME.txt.
load() {
  local name=$1 url=$2
  if [ "${3:-}" = warm ]; then
    "${LOADPIN[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d 2s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  fi
  "${LOADPIN[@]}" wrk -t "$WRK_THREADS" -c "$CONNS" -d "${DURATION}s" --latency -H "Authorization: Bearer $TOKEN" "$url" >"$RUN/wrk-$name.txt"
  if grep -q 'Non-2xx\|Socket errors' "$RUN/wrk-$name.txt"; then
    log "$name: errors under load:"
    grep 'Non-2xx\|Socket errors' "$RUN/wrk-$name.txt" >&2
    return 1
  fi
}
# best NAME: which of NAME-1 and NAME-2 had the higher throughput.
best() { if awk "BEGIN { exit !($(wrk_rps "$1-1") >= $(wrk_rps "$1-2")) }"; then echo "$1-1"; else echo "$1-2"; fi; }
# other RUN NAME: the round of NAME that is not RUN.
other() { if [ "$1" = "$2-1" ]; then echo "$2-2"; else echo "$2-1"; fi; }
wrk_rps() { awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$RUN/wrk-$1.txt"; }
wrk_pct() { wrk_ms "$(awk -v p="$2" '$1 == p { print $2 }' "$RUN/wrk-$1.txt")"; }

stop_pid() { # PIDFILE: stop a server this script started
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  rm -f "$f"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}

# start_servers CPUS: tuku serve and the FileServer, on the CPU list CPUS
# (taskset) or unpinned when empty; sets BASE and FURL.
start_servers() {
  local pin=() port fport
  [ -n "$1" ] && pin=(taskset -c "$1")
  port=$(free_port)
  "${pin[@]}" "$TUKU" serve --data "$RUN/tuku-12mp" --addr "127.0.0.1:$port" >>"$RUN/serve.log" 2>&1 &
  echo $! >"$RUN/serve.pid"
  BASE=http://127.0.0.1:$port
  fport=$(free_port)
  "${pin[@]}" "$BIN/fileserver" -dir "$RUN/www" -addr "127.0.0.1:$fport" >>"$RUN/fileserver.log" 2>&1 &
  echo $! >"$RUN/fileserver.pid"
  FURL=http://127.0.0.1:$fport/thumb.jpg
  STARTED=$(now)
  wait_url "$BASE/readyz" 30 || { log "tuku serve not ready in 30 s (see ${RUN#"$ROOT"/}/serve.log)"; return 1; }
  READY=$(now)
  wait_url "$FURL" 10 || { log "fileserver not ready"; return 1; }
}

stop_servers() {
  stop_pid "$RUN/serve.pid"
  stop_pid "$RUN/fileserver.pid"
}

# serve_rounds TAG LABEL SERVERCPUS LOADCPUS: two interleaved rounds per
# server (FileServer, tuku, FileServer, tuku), the better of each kept: the
# machine is shared, and a burst of someone else's work should not decide.
serve_rounds() {
  local tag=$1 label=$2 url
  start_servers "$3"
  url="$BASE/api/v1/assets/$ASSET/thumbnail?size=grid"
  local lp=()
  [ -n "$4" ] && lp=(taskset -c "$4")
  LOADPIN=("${lp[@]}")
  load "$tag-fileserver-1" "$FURL" warm
  load "$tag-tuku-1" "$url" warm
  load "$tag-fileserver-2" "$FURL"
  load "$tag-tuku-2" "$url"
  stop_servers
  local t f tr fr ratio t50 t99 f50 f99
  t=$(best "$tag-tuku") f=$(best "$tag-fileserver")
  tr=$(wrk_rps "$t") fr=$(wrk_rps "$f") ratio=$(calc "$(wrk_rps "$t") / $(wrk_rps "$f")" 2)
  t50=$(wrk_pct "$t" 50%) t99=$(wrk_pct "$t" 99%) f50=$(wrk_pct "$f" 50%) f99=$(wrk_pct "$f" 99%)
  local ot of
  ot=$(other "$t" "$tag-tuku") of=$(other "$f" "$tag-fileserver")
  row "Thumbnail, $label: \`tuku serve\` (other round: $(wrk_rps "$ot") req/s, p99 $(wrk_pct "$ot" 99%) ms)" "$tr req/s, p50 $t50 ms, p99 $t99 ms" "p99 ≤ 5 ms" "$(met "$t99 <= 5")"
  row "Thumbnail, $label: http.FileServer (other round: $(wrk_rps "$of") req/s, p99 $(wrk_pct "$of" 99%) ms)" "$fr req/s, p50 $f50 ms, p99 $f99 ms" "—" "—"
  row "Thumbnail, $label: throughput tuku / FileServer" "${ratio}×" "≥ 0.8×" "$(met "$ratio >= 0.8")"
}

phase_serve() {
  trap stop_servers EXIT
  local d=$RUN/tuku-12mp
  log "serving: tuku vs http.FileServer, $CONNS connections, ${DURATION} s a round"
  "$TUKU" user add --email bench@tuku.local --role admin --password-stdin --data "$d" \
    <<<"bench-only-password-$RANDOM$RANDOM" >/dev/null
  TOKEN=$("$TUKU" token create --email bench@tuku.local --data "$d" | tail -n1)
  [ -n "$TOKEN" ] || { log "no token"; return 1; }
  ASSET=$(grep -m1 -o '"asset_id":"[^"]*"' "$RUN/import12.jsonl" | cut -d'"' -f4)
  [ -n "$ASSET" ] || { log "no imported asset to serve"; return 1; }
  mkdir -p "$RUN/www"
  : >"$RUN/www/thumb.jpg" # replaced below, once tuku serves it

  start_servers ""
  row "\`tuku serve\` ready after start (this data dir: $N12 assets)" "$(calc "$READY - $STARTED" 2) s" "—" "—"
  sleep 2
  "$BIN/treerss" -pid "$(cat "$RUN/serve.pid")" >"$RUN/serve.idle"
  local irss ipss np self
  irss=$(calc "$(kv tree_rss_kb "$RUN/serve.idle") / 1024" 0)
  ipss=$(calc "$(kv tree_pss_kb "$RUN/serve.idle") / 1024" 0)
  np=$(kv processes "$RUN/serve.idle")
  self=$(calc "$(kv self_rss_kb "$RUN/serve.idle") / 1024" 0)
  # An imaging child, when one is running, maps the same binary and
  # libvips as the server: its RSS is mostly shared pages, hence both sums.
  row "Idle server: RSS summed over \`tuku serve\` and its child processes ($np process(es); the server alone: $self MB)" "$irss MB" "< 80 MB" "$(met "$irss < 80")"
  row "Idle server: PSS summed over the same processes (shared pages counted once)" "$ipss MB" "< 80 MB" "$(met "$ipss < 80")"
  local url="$BASE/api/v1/assets/$ASSET/thumbnail?size=grid"
  curl -fsS -H "Authorization: Bearer $TOKEN" -D "$RUN/thumb.headers" -o "$RUN/www/thumb.jpg" "$url" ||
    { log "GET $url failed"; return 1; }
  curl -fsS -o "$RUN/fs-thumb.jpg" "$FURL"
  cmp -s "$RUN/fs-thumb.jpg" "$RUN/www/thumb.jpg" || { log "the two servers serve different bytes"; return 1; }
  stop_servers
  row "Thumbnail served: the first imported asset's grid rendition" "$(stat -c %s "$RUN/www/thumb.jpg") bytes" "—" "—"

  # Pinned: the servers on CPU 0, wrk on CPU 1, so the load generator
  # never takes the server's CPU (as a client on another machine would
  # not); the server has one core. Shared: all on both cores.
  if [ "$(nproc)" -ge 2 ]; then
    serve_rounds pinned "servers on CPU 0, wrk on CPU 1" 0 1
  fi
  serve_rounds shared "servers and wrk sharing all $(nproc) cores" "" ""
}

# run_phase NAME: runs phase_NAME in a subshell with errexit in force (it
# is not inside a condition), records a failure and carries on.
# phase_gallery: server time of a gallery page of one customer's 10,000
# assets, signed in, over loopback (the Go benchmark in internal/web, which
# ingests its own 10,000 small JPEGs first; untimed). Thumbnails are
# separate, cached requests and not part of the page.
phase_gallery() {
  log "gallery: a page of 10,000 assets (ingesting them first takes a minute or two)"
  go test ./internal/web -run '^$' -bench 'GalleryPage10k' -benchtime 200x -count 1 -timeout 20m \
    >"$RUN/gallery.txt" 2>&1 || { cat "$RUN/gallery.txt" >&2; return 1; }
  local first next search
  first=$(awk '/GalleryPage10k\/first/ { print $3 / 1e6 }' "$RUN/gallery.txt")
  next=$(awk '/GalleryPage10k\/next/ { print $3 / 1e6 }' "$RUN/gallery.txt")
  search=$(awk '/GalleryPage10k\/search/ { print $3 / 1e6 }' "$RUN/gallery.txt")
  [ -n "$first" ] && [ -n "$next" ] && [ -n "$search" ] || { log "no figures in gallery.txt"; return 1; }
  row "Gallery of 10,000 assets: first page (120 tiles, filters, projects), mean server time" "$(calc "$first" 1) ms" "< 300 ms" "$(met "$first < 300")"
  row "Gallery of 10,000 assets: next page (infinite scroll fragment)" "$(calc "$next" 1) ms" "< 300 ms" "$(met "$next < 300")"
  row "Gallery of 10,000 assets: search results page for a 2-character Chinese word (all 10,000 match)" "$(calc "$search" 1) ms" "< 300 ms" "$(met "$search < 300")"
}

run_phase() {
  local rc t0
  t0=$(now)
  printf '%s %s\n' "$1" "$(cut -d' ' -f1 /proc/loadavg)" >>"$RUN/loads"
  set +e
  (set -e; "phase_$1")
  rc=$?
  set -e
  if [ "$rc" != 0 ]; then
    echo "$1 (exit $rc)" >>"$FAILS"
    row "$1" "measurement failed (exit $rc)" "—" "**failed**"
  fi
  log "$1 took $(calc "$(now) - $t0" 0) s"
}

# ---------------------------------------------------------------- report

write_results() {
  local cpu mem load0=$1 load1 desc tmp=$RUN/results.md
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  load1=$(cut -d' ' -f1-3 /proc/loadavg)
  desc=$(git describe --always --dirty 2>/dev/null || echo "no commit yet")
  local small=("$DATA"/small/*.jpg)
  local nsmall=${#small[@]}
  {
    echo "# Tuku benchmarks"
    echo
    echo "Written by \`make bench\` (scripts/bench.sh) on $(date -u '+%Y-%m-%d %H:%M UTC'). Targets: DESIGN.md §4."
    echo
    echo "| Machine | |"
    echo "| --- | --- |"
    echo "| CPU | $(nproc) × $cpu |"
    echo "| Memory | $mem |"
    echo "| Kernel | $(uname -r) |"
    echo "| libvips | $(vips --version) |"
    echo "| exiftool | $(exiftool -ver) |"
    echo "| Go | $(go version | cut -d' ' -f3-) |"
    echo "| Tuku | $desc |"
    echo "| Load average (1, 5, 15 min) at start / end | $load0 / $load1 |"
    echo "| Load average (1 min) as each part began | $(awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2 }' "$RUN/loads") |"
    echo
    echo "| Figure | Value | Target | |"
    echo "| --- | --- | --- | --- |"
    awk -F'|' '{ printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4 }' "$ROWS"
    echo
    echo "## How it was measured"
    echo
    echo "- Data (generated once into bench/out/data, reused): $N12 distinct 4000×3000 JPEGs, quality 90,"
    echo "  $(stat -c %s "$DATA"/12mp/*.jpg | sort -n | awk 'NR==1{a=$1} {b=$1} END{printf "%.1f–%.1f MB", a/1e6, b/1e6}') each:"
    echo "  crops of six camera photos from the corpus, upscaled, brightness-varied and mirrored, plus Gaussian grain"
    echo "  (σ 6) for a camera's entropy; EXIF Make, Model, DateTimeOriginal, OffsetTimeOriginal on a third, GPS on four"
    echo "  fifths, written by one exiftool run. One 10000×10000 JPEG ($(calc "$(stat -c %s "$DATA/100mp/IMG_100MP.jpg") / 1e6" 1) MB)"
    echo "  collaged from those, and $nsmall 250×250 JPEG tiles of it and of its mirror image."
    echo "- Wall time by \`date +%s.%N\` around each command, whole commands (start-up, opening the database included)."
    echo "- Page cache: the files were read once (\`cat > /dev/null\`) before each timed side, so both sides measure CPU,"
    echo "  not the disk (dropping caches needs root tricks)."
    echo "- Ingest floor: the three reference tools, one after the other, each once over all $N12 files; its time is their sum."
    echo "  The grid size is 400 px JPEG quality 80, as Tuku's grid rendition. Tuku's import also stores the original,"
    echo "  computes a perceptual hash and a clarity score and writes the database."
    echo "- Peak memory of the 12 MP import: GNU time's %M, i.e. the largest ru_maxrss of the command or any one of its"
    echo "  child processes, not their sum. For the 100 MP file the whole tree (tuku and its imaging child processes) is"
    echo "  sampled from /proc every 20 ms by bench/treerss: the figure held against the target is the sum of RSS (it counts"
    echo "  pages shared between the processes, such as the binary, once per process, so it overstates); PSS (shared pages"
    echo "  divided among their users) and the largest single ru_maxrss are shown beside it. The same sampling covers the"
    echo "  background job that renders the 100 MP file's preview, and the idle server (2 s after /readyz answered, before any"
    echo "  request but that one), with any imaging child process it has started."
    echo "- Re-import: the small-file folder imported once, then re-imported three times (median kept); every JSON line must"
    echo "  say \"duplicate\"."
    echo "- Serving: the admin token of a bench user; the first imported asset's grid thumbnail, and the same bytes from a"
    echo "  plain \`http.FileServer\` (bench/fileserver, same http.Server settings). wrk, $WRK_THREADS thread, $CONNS connections, 2 s"
    echo "  warm-up then ${DURATION} s a round, two rounds interleaved (FileServer, tuku, FileServer, tuku), the better round of each"
    echo "  server reported; loopback only, the same Authorization header to both. Background previews were drained first"
    echo "  (\`tuku worker --drain\`) so no job ran under load. Two set-ups: pinned (both servers on CPU 0, wrk on CPU 1 with"
    echo "  taskset, so the load generator never takes the server's CPU, as a client on another machine would not; the server"
    echo "  has one core) and shared (servers and wrk on both cores, competing for them)."
    echo "- The machine is shared: see the load average above; figures taken under load from other processes are low."
    echo
    echo "## Commands"
    echo
    echo '```'
    echo "vipsthumbnail -s 400 -o 'bench/out/run/floor/%s.jpg[Q=80,strip]' bench/out/data/12mp/*.jpg"
    echo "sha256sum bench/out/data/12mp/*.jpg > /dev/null"
    echo "exiftool -json bench/out/data/12mp/*.jpg > /dev/null"
    echo "tuku customer add 'Bench Photos' --code BENCH --data bench/out/run/tuku-12mp"
    echo "/usr/bin/time -f %M tuku import bench/out/data/12mp --customer BENCH --json --data bench/out/run/tuku-12mp"
    echo "tuku worker --drain --data bench/out/run/tuku-12mp"
    echo "tuku import bench/out/data/small --customer BENCH --json --data bench/out/run/tuku-small   # once, then 3 times timed"
    echo "tuku import bench/out/data/small/$(basename "${small[0]}") --customer BENCH --json --data bench/out/run/tuku-small"
    echo "bench/out/bin/treerss -- tuku import bench/out/data/100mp/IMG_100MP.jpg --customer BENCH --json --data bench/out/run/tuku-100mp"
    echo "tuku serve --data bench/out/run/tuku-12mp --addr 127.0.0.1:PORT"
    echo "bench/out/bin/fileserver -dir bench/out/run/www -addr 127.0.0.1:PORT2"
    echo "wrk -t $WRK_THREADS -c $CONNS -d ${DURATION}s --latency -H 'Authorization: Bearer TOKEN' 'http://127.0.0.1:PORT/api/v1/assets/ID/thumbnail?size=grid'"
    echo "wrk -t $WRK_THREADS -c $CONNS -d ${DURATION}s --latency -H 'Authorization: Bearer TOKEN' http://127.0.0.1:PORT2/thumb.jpg"
    echo "# pinned: taskset -c 0 before tuku serve and fileserver, taskset -c 1 before wrk"
    echo "bench/out/bin/treerss -- tuku worker --drain --data bench/out/run/tuku-100mp"
    echo "go test ./internal/web -run '^$' -bench GalleryPage10k -benchtime 200x   # 10,000 assets; mean ns/op of first, next, search"
    echo '```'
    if [ -s "$FAILS" ]; then
      echo
      echo "Measurements that failed (logs in bench/out/run): $(paste -sd, "$FAILS")."
    fi
  } >"$tmp"
  mv "$tmp" "$RESULTS"
}

main() {
  local t0 load0
  t0=$(now)
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  trap 'stop_pid "$RUN/serve.pid"; stop_pid "$RUN/fileserver.pid"; if [ -n "${SCR:-}" ]; then rm -rf "$SCR"; fi' EXIT
  ensure_tools
  gen_data
  rm -rf "$RUN"
  mkdir -p "$RUN"
  : >"$ROWS"
  : >"$FAILS"
  run_phase ingest
  run_phase reimport
  run_phase 100mp
  run_phase previews
  run_phase serve
  run_phase gallery
  write_results "$load0"
  echo
  cat "$RESULTS"
  log "bench took $(calc "$(now) - $t0" 0) s"
  [ ! -s "$FAILS" ]
}

main "$@"
