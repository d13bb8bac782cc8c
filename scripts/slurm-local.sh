#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, from Debian's packages, for testing the submitit launcher.
#   scripts/slurm-local.sh install   # apt-get install slurm-wlm munge (root; once per machine)
#   scripts/slurm-local.sh start     # write slurm.conf for this host, start munged, slurmctld, slurmd
#   scripts/slurm-local.sh status    # the node and the queue
#   scripts/slurm-local.sh stop      # stop the three daemons (queued jobs are cancelled)
# `start` is idempotent: daemons already running with the same configuration are left alone. Needs root.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF="$CONF_DIR/slurm.conf"
STATE=/var/lib/arae-slurm
LOGS=/var/log/slurm
PARTITION=local

need_root() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: $0 $1 needs root (it runs system daemons); run it with sudo" >&2
        exit 2
    fi
}

install() {
    need_root install
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
        return
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

running() {  # running NAME PIDFILE: the daemon's pid file names a live process
    [ -f "$2" ] && kill -0 "$(cat "$2")" 2>/dev/null
}

write_conf() {
    local host node
    host=$(hostname -s)
    # This host's real CPUs and memory, as slurmd itself measures them (first line of `slurmd -C`).
    node=$(slurmd -C | head -n 1)
    mkdir -p "$CONF_DIR" "$STATE/ctld" "$STATE/d" "$LOGS"
    cat >"$CONF.new" <<EOF
# Written by scripts/slurm-local.sh: one node, one partition, no accounting database.
ClusterName=arae-local
SlurmctldHost=$host
AuthType=auth/munge
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$LOGS/slurmctld.log
SlurmdLogFile=$LOGS/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobRequeue=1
MpiDefault=none
SlurmctldTimeout=30
SlurmdTimeout=30
MinJobAge=600
$node State=UNKNOWN
PartitionName=$PARTITION Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
    if cmp -s "$CONF.new" "$CONF"; then
        rm "$CONF.new"
        return 1  # unchanged
    fi
    mv "$CONF.new" "$CONF"
}

start() {
    need_root start
    install
    local changed=0
    write_conf && changed=1
    if ! running munged /run/munge/munged.pid; then
        mkdir -p /run/munge /var/log/munge /var/lib/munge
        chown munge:munge /run/munge /var/log/munge /var/lib/munge
        [ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create
        runuser -u munge -- munged
    fi
    if [ "$changed" = 1 ]; then stop_slurm; fi
    running slurmctld "$STATE/slurmctld.pid" || slurmctld
    running slurmd "$STATE/slurmd.pid" || slurmd
    local host
    host=$(hostname -s)
    for _ in $(seq 60); do
        if sinfo -h -n "$host" -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
            echo "SLURM is up: node $host, partition $PARTITION ($CONF)"
            return
        fi
        scontrol update NodeName="$host" State=RESUME >/dev/null 2>&1 || true
        sleep 1
    done
    echo "error: the SLURM node did not become idle; see $LOGS/slurmctld.log and $LOGS/slurmd.log" >&2
    sinfo >&2 || true
    exit 1
}

stop_daemon() {  # stop_daemon PIDFILE
    if running "" "$1"; then
        local pid
        pid=$(cat "$1")
        kill "$pid"
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$1"
}

stop_slurm() {
    stop_daemon "$STATE/slurmd.pid"
    stop_daemon "$STATE/slurmctld.pid"
}

stop() {
    need_root stop
    stop_slurm
    stop_daemon /run/munge/munged.pid
    echo "SLURM stopped"
}

status() {
    sinfo
    squeue
}

case "${1:-}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
