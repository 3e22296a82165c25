#!/usr/bin/env bash
# Start or stop Minima workers on a list of hosts over ssh.
#   Deploy/ssh/workers.sh start hosts.txt tcp://coordinator-host:5555 [KEY_DIR]
#   Deploy/ssh/workers.sh stop hosts.txt
# hosts.txt: one host per line ("user@host" works; # comments allowed). Each host needs the
# minima binary on its PATH (or set MINIMA=/path/to/minima). With KEY_DIR (from minima keygen:
# server.key and worker.key_secret) the keys are copied and CURVE is used.
# Workers run under nohup with their pid in ~/.minima-worker.pid and log in ~/.minima-worker.log;
# stop sends SIGTERM (unstarted trials go back, running ones finish).
set -euo pipefail
action=${1:?usage: workers.sh start|stop HOSTS [ENDPOINT] [KEY_DIR]}
hosts=${2:?usage: workers.sh start|stop HOSTS [ENDPOINT] [KEY_DIR]}
minima=${MINIMA:-minima}
ssh_options=(-o BatchMode=yes -o ConnectTimeout=10)
grep -v '^\s*#' "$hosts" | grep -v '^\s*$' | while read -r host; do
    case "$action" in
    start)
        endpoint=${3:?start needs the coordinator endpoint}
        keys=""
        if [ -n "${4:-}" ]; then
            ssh "${ssh_options[@]}" "$host" 'mkdir -p ~/.minima-keys && chmod 700 ~/.minima-keys' </dev/null
            scp -q "${ssh_options[@]}" "$4/server.key" "$4/worker.key_secret" "$host:.minima-keys/" </dev/null
            keys="--server-key ~/.minima-keys/server.key --key ~/.minima-keys/worker.key_secret"
        fi
        ssh "${ssh_options[@]}" "$host" "nohup $minima worker --connect $endpoint $keys > ~/.minima-worker.log 2>&1 & echo \$! > ~/.minima-worker.pid" </dev/null
        echo "$host: worker started"
        ;;
    stop)
        ssh "${ssh_options[@]}" "$host" 'test -f ~/.minima-worker.pid && kill -TERM "$(cat ~/.minima-worker.pid)" && rm -f ~/.minima-worker.pid' </dev/null \
            && echo "$host: worker stopping" || echo "$host: no worker running"
        ;;
    *) echo "unknown action $action (start or stop)"; exit 2 ;;
    esac
done
