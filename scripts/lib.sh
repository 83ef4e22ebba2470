# Shared by the load scripts (sourced, not run): the build, where the server and the load
# generator run, and the helpers that read figures.
#
#   PROFILE=release|ci   cargo profile of the binaries (default release: BENCHMARKS.md's figures)
#   PIN=0                let the server and the load generator share both cores
#   SERVER_BIN=PATH      serve with another build (an earlier commit's, to compare in the same hour)
#
# After `build_bins EXTRA_CARGO_ARGS…`: BIN (the server), LOADGEN (the load generator, pinned),
# SERVER_PIN / CLIENT_PIN (prefixes: taskset on 2+ cores, else empty).
#
# The scripts' default ports (20777–20796) lie below Linux's ephemeral range (32768–60999): a load
# generator that polls a port inside it before the server has bound it can be given that very
# port as its own source port and connect to itself, and the server then fails to bind.

PROFILE=${PROFILE:-release}

build_bins() {
  cargo build --profile "$PROFILE" --quiet --bin hotline-router --example loadgen "$@"
  BIN=${SERVER_BIN:-./target/$PROFILE/hotline-router}
  # On a machine with 2+ cores the server and the load generator each get a core of their own,
  # with one runtime thread each, so that neither steals the other's CPU mid-measurement.
  if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
    SERVER_PIN=(taskset -c 0); CLIENT_PIN=(taskset -c 1); export TOKIO_WORKER_THREADS=1
    TOPOLOGY="server pinned to core 0, load generator to core 1, one runtime thread each"
  else
    SERVER_PIN=(); CLIENT_PIN=()
    TOPOLOGY="server and load generator share the cores"
  fi
  LOADGEN=("${CLIENT_PIN[@]}" "./target/$PROFILE/examples/loadgen")
}

# thread_cpu PID -> "comm ticks" per thread name (utime + stime).
thread_cpu() {
  for t in /proc/"$1"/task/*; do echo "$(tr ' ' '_' <"$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done |
    awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# `field NAME` reads NAME=value from a loadgen summary line on standard input.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# `median`: the median of the numbers on standard input, one a line.
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }

machine() {
  echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); $(date -u +%F); profile $PROFILE; commit $(git rev-parse --short HEAD)"
}

# `hist_p99 NAME` reads Prometheus text on standard input and prints the upper bound, in µs, of
# the bucket of histogram NAME that holds its 99th percentile ("inf" past the last bound): from
# the server's own histograms, so without the network and the load generator's wake-ups.
hist_p99() {
  awk -v name="$1" '
    index($0, name "_bucket{le=\"") == 1 {
      le = $0; sub(/^[^"]*"/, "", le); sub(/".*/, "", le); n++; bound[n] = le; cum[n] = $NF
    }
    index($0, name "_count ") == 1 { total = $NF }
    END {
      if (total == 0) { print "none"; exit }
      for (i = 1; i <= n; i++) if (cum[i] >= 0.99 * total) {
        if (bound[i] == "+Inf") print "inf"; else printf "%g\n", bound[i] * 1e6; exit
      }
    }'
}
# `hist_mean NAME`: the mean of histogram NAME in µs, from its _sum and _count.
hist_mean() {
  awk -v name="$1" 'index($0, name "_sum ") == 1 {s = $NF} index($0, name "_count ") == 1 {c = $NF}
    END {if (c > 0) printf "%.1f\n", s / c * 1e6; else print "none"}'
}
