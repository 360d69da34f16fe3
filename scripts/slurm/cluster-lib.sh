# Sourced (not run): a private one-node Slurm cluster on loopback, for the
# test and for trying the job-array script by hand. munged, slurmctld and
# slurmd run as plain background processes (no init system needed) from a
# scratch directory with a generated munge key and slurm.conf, on free ports;
# nothing under /etc is read or written. Every Slurm command run after
# slurm_cluster_start talks to this cluster through $SLURM_CONF.
#
#   slurm_cluster_start DIR   start the daemons (DIR: an empty scratch folder)
#   slurm_cluster_stop        cancel every job, stop the daemons, leave none
#   slurm_cluster_logs        print the daemons' logs (on a failure)

slurm_dir=""
slurm_pids=()

# free_port: a TCP port nothing listens on (read from /proc, so no ss or
# netstat is needed), from a range Linux does not hand out by itself.
free_port() {
    local used=" " sl local_addr rest port
    while read -r sl local_addr _ st rest; do
        [ "$st" = 0A ] && used+="$((16#${local_addr##*:})) "
    done < <(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null)
    while :; do
        port=$((20000 + RANDOM % 12000))
        [[ $used == *" $port "* ]] || { echo "$port"; return; }
    done
}

slurm_cluster_logs() {
    local f
    for f in "$slurm_dir"/munged.log "$slurm_dir"/slurmctld.log "$slurm_dir"/slurmd.log \
        "$slurm_dir"/*.err; do
        [ -s "$f" ] || continue
        echo "---- $f (last 40 lines)" >&2
        tail -n 40 "$f" >&2
    done
}

# slurm_spawn NAME CMD…: CMD in the background, its stderr in DIR/NAME.err.
slurm_spawn() {
    local name=$1
    shift
    "$@" >"$slurm_dir/$name.out" 2>"$slurm_dir/$name.err" &
    slurm_pids+=($!)
}

slurm_cluster_start() {
    slurm_dir=$1
    local host node ctld_port slurmd_port i state
    mkdir -p "$slurm_dir/state" "$slurm_dir/spool"
    chmod 700 "$slurm_dir"

    # munge: a fresh key, a socket of our own (a system munged, if any, is
    # left alone).
    dd if=/dev/urandom of="$slurm_dir/munge.key" bs=1024 count=1 status=none
    chmod 600 "$slurm_dir/munge.key"
    slurm_spawn munged munged --foreground --force --key-file="$slurm_dir/munge.key" \
        --socket="$slurm_dir/munge.socket" --pid-file="$slurm_dir/munged.pid" \
        --seed-file="$slurm_dir/munged.seed" --log-file="$slurm_dir/munged.log"
    for i in $(seq 1 100); do
        [ -S "$slurm_dir/munge.socket" ] && break
        sleep 0.1
    done
    [ -S "$slurm_dir/munge.socket" ] || {
        echo "slurm: munged did not start" >&2
        slurm_cluster_logs
        return 1
    }

    host=$(hostname -s)
    ctld_port=$(free_port)
    slurmd_port=$(free_port)
    while [ "$slurmd_port" = "$ctld_port" ]; do slurmd_port=$(free_port); done
    # The node as slurmd sees it (CPUs, sockets, cores, RealMemory): a node
    # declared larger than it is would be drained.
    node=$(slurmd -C | head -n 1 | sed -e "s/^NodeName=[^ ]*/NodeName=$host NodeAddr=127.0.0.1/")
    cat >"$slurm_dir/slurm.conf" <<CONF
ClusterName=hubsync
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$slurm_dir/munge.socket
StateSaveLocation=$slurm_dir/state
SlurmdSpoolDir=$slurm_dir/spool
SlurmctldPidFile=$slurm_dir/slurmctld.pid
SlurmdPidFile=$slurm_dir/slurmd.pid
SlurmctldLogFile=$slurm_dir/slurmctld.log
SlurmdLogFile=$slurm_dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
# A requeued job becomes eligible at its begin time, and starts at the next
# pass of the main scheduler: every 2 s here instead of 60 (nothing else
# triggers a pass then), to keep the test short.
SchedulerParameters=sched_interval=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobRequeue=1
ReturnToService=2
KillWait=10
MinJobAge=600
$node
PartitionName=hubsync Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
    export SLURM_CONF="$slurm_dir/slurm.conf"
    # -i: start without state from an earlier run (there is none; say so).
    slurm_spawn slurmctld slurmctld -D -i -f "$SLURM_CONF"
    slurm_spawn slurmd slurmd -D -f "$SLURM_CONF"

    # Ready when the controller answers and the node is idle.
    for i in $(seq 1 300); do
        state=$(sinfo -h -n "$host" -o '%T' 2>/dev/null || true)
        [ "$state" = idle ] && return 0
        sleep 0.1
    done
    echo "slurm: the node is not idle after 30 s (sinfo says '${state:-no answer}')" >&2
    slurm_cluster_logs
    return 1
}

slurm_cluster_stop() {
    local i pid fd
    [ -n "$slurm_dir" ] || return 0
    if [ -n "${SLURM_CONF-}" ] && [ ${#slurm_pids[@]} -gt 0 ]; then
        # shellcheck disable=SC2046 # one word per job id
        scancel --quiet $(squeue -h -o '%A' 2>/dev/null) 2>/dev/null || true
        for i in $(seq 1 100); do
            [ -z "$(squeue -h -o '%A' 2>/dev/null)" ] && break
            sleep 0.1
        done
    fi
    for ((i = ${#slurm_pids[@]} - 1; i >= 0; i--)); do
        kill "${slurm_pids[$i]}" 2>/dev/null || true
    done
    for pid in "${slurm_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    slurm_pids=()
    # A job step's slurmstepd outlives slurmd; ours are those with a file
    # open in our spool.
    for pid in /proc/[0-9]*; do
        pid=${pid#/proc/}
        [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = slurmstepd ] || continue
        for fd in /proc/"$pid"/fd/*; do
            case $(readlink "$fd" 2>/dev/null) in
            "$slurm_dir"/*) kill -KILL "$pid" 2>/dev/null || true; break ;;
            esac
        done
    done
}
