#!/bin/bash
# The GPU live check of issue 14 (docs/gpu.md): run on a machine with an NVIDIA GPU, from the repository
# root, with .devicekit/ holding node.xz (a Node LTS binary, xz), nodetap.cjs (npm run build:bundle) and
# timex.node + nvml.node (npm run build:native); writes $OUT/live.tar.gz: /metrics, nvidia-smi -q and
# --query-gpu taken in the same instant, idle and under a PyTorch load, plus latency and memory figures.
set -u
K=$(pwd)/.devicekit
R=/tmp/live; rm -rf $R; mkdir -p $R
save() { tar -C /tmp -czf $OUT/live.tar.gz live; }
ts() { date +%T.%N | cut -c1-12; }
[ -x /tmp/node ] || { xz -dc $K/node.xz > /tmp/node && chmod +x /tmp/node; }
mkdir -p /tmp/pkg/build/native /tmp/pkg/dist/bundle
cp $K/nodetap.cjs /tmp/pkg/dist/bundle/; cp $K/nvml.node $K/timex.node /tmp/pkg/build/native/
echo '{"name":"nodetap","version":"0.0.0"}' > /tmp/pkg/package.json
PORT=19100
MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 NODE_NAME=h200-live /tmp/node /tmp/pkg/dist/bundle/nodetap.cjs --web.listen-address=127.0.0.1:$PORT --no-logs.enabled > $R/agent.log 2>&1 &
APID=$!
for i in $(seq 1 100); do curl -sf 127.0.0.1:$PORT/healthz >/dev/null && break; sleep 0.1; done
echo "$(ts) agent up"
Q=index,uuid,pci.bus_id,name,driver_version,utilization.gpu,utilization.memory,utilization.encoder,utilization.decoder,memory.total,memory.reserved,memory.used,memory.free,power.draw,power.draw.instant,enforced.power.limit,temperature.gpu,temperature.memory,clocks.sm,clocks.mem,clocks_event_reasons.active,remapped_rows.correctable,remapped_rows.uncorrectable,remapped_rows.pending,remapped_rows.failure,ecc.errors.corrected.volatile.total,ecc.errors.uncorrected.volatile.total,ecc.errors.corrected.aggregate.total,ecc.errors.uncorrected.aggregate.total,fan.speed
snap() {
  date +%s.%N > $R/$1.time
  timeout 20 curl -s -w '\n# curl_time_total %{time_total}\n' "127.0.0.1:$PORT/metrics" > $R/$1.metrics & P1=$!
  timeout 20 nvidia-smi --query-gpu=$Q --format=csv > $R/$1.csv & P2=$!
  timeout 20 nvidia-smi -q > $R/$1.q & P3=$!
  wait $P1 $P2 $P3
  echo "$(ts) snap $1"
}
for n in 1 2 3; do snap idle$n; done
save
for i in $(seq 1 20); do timeout 10 curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$PORT/metrics?collect[]=gpu" >> $R/lat-gpuonly-idle.txt; done
echo "$(ts) latency idle: $(sort -n $R/lat-gpuonly-idle.txt | awk '{a[NR]=$1} END {print "p50", a[int(NR/2)], "max", a[NR]}')"
cat > /tmp/load.py <<'PY'
import torch, time
x = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
hold = torch.empty(20 * 1024**3, dtype=torch.uint8, device="cuda")
print("loaded", flush=True)
end = time.time() + 40
while time.time() < end:
    for _ in range(20):
        y = x @ x
    torch.cuda.synchronize()
    h = hold[: 256 * 1024**2].to("cpu")
PY
timeout 70 python3 /tmp/load.py > $R/load.log 2>&1 &
LPID=$!
for i in $(seq 1 40); do grep -q loaded $R/load.log 2>/dev/null && break; sleep 1; done
echo "$(ts) load running"
sleep 5
for n in 1 2; do snap load$n; done
save
for i in $(seq 1 20); do timeout 10 curl -s -o /dev/null -w '%{time_total}\n' "127.0.0.1:$PORT/metrics?collect[]=gpu" >> $R/lat-gpuonly-load.txt; done
echo "$(ts) latency load: $(sort -n $R/lat-gpuonly-load.txt | awk '{a[NR]=$1} END {print "p50", a[int(NR/2)], "max", a[NR]}')"
grep -E 'collector="gpu"' $R/load2.metrics
echo "agent rss_kb=$(awk '/VmRSS/{print $2}' /proc/$APID/status) hwm_kb=$(awk '/VmHWM/{print $2}' /proc/$APID/status) threads=$(awk '/Threads/{print $2}' /proc/$APID/status)" | tee $R/agent-mem.txt
kill $LPID 2>/dev/null
timeout 8 nvidia-smi --query-gpu=utilization.gpu,memory.used,power.draw,temperature.gpu,clocks.sm --format=csv,noheader,nounits -lms 1000 > $R/smi-loop.csv &
SPID=$!
sleep 1; SMI=$(pgrep -n -x nvidia-smi)
c0=$(awk '{print $14+$15}' /proc/$SMI/stat); sleep 5; c1=$(awk '{print $14+$15}' /proc/$SMI/stat)
echo "nvidia-smi-loop cpu_ticks_per_5s=$((c1-c0)) rss_kb=$(awk '/VmRSS/{print $2}' /proc/$SMI/status) clk_tck=$(getconf CLK_TCK)" | tee $R/smi-cost.txt
wait $SPID
s0=$(date +%s%N); for i in 1 2 3; do timeout 20 nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader > /dev/null; done; s1=$(date +%s%N)
echo "nvidia-smi one-shot ms_each=$(((s1-s0)/3000000))" | tee -a $R/smi-cost.txt
kill $APID
save
echo "$(ts) done"
