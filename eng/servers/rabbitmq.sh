# RabbitMQ 3.10 (Debian) with its AMQP 1.0 plugin, for the plain-AMQP tests of MediaGen.Queue.ServiceBus.
# A private node on loopback: its own config, data, logs, Erlang cookie and distribution port under
# $MEDIAGEN_RUN_DIR/rabbitmq, so it never touches a system instance. Exports MEDIAGEN_RABBITMQ_AMQP
# (amqp://guest:guest@127.0.0.1:PORT) and MEDIAGEN_RABBITMQ_QUEUE (a quorum queue with a dead-letter policy to
# "<queue>.dead-letter" and a delivery limit), and MEDIAGEN_RABBITMQ_ENV (a file to source to run rabbitmq-server or
# rabbitmqctl against this node, used by the broker-restart test).

_rabbitmq_install() {
  dpkg -s rabbitmq-server >/dev/null 2>&1 && return 0
  # Keep the package's maintainer scripts from starting a system-wide node.
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  apt_install rabbitmq-server
  local status=$?
  ((created_policy)) && rm -f /usr/sbin/policy-rc.d
  return $status
}

start_rabbitmq() {
  _rabbitmq_install
  local dir="$MEDIAGEN_RUN_DIR/rabbitmq" port dist
  port=$(free_port)
  dist=$(free_port)
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  chmod 700 "$dir/home"
  cat > "$dir/rabbitmq.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
amqp1_0.default_user = guest
loopback_users.guest = true
log.console = false
log.file.level = warning
CONF
  echo '[rabbitmq_amqp1_0].' > "$dir/enabled_plugins"
  cat > "$dir/env.sh" <<ENV
export HOME='$dir/home'
export RABBITMQ_NODENAME=rabbit-mediagen@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$port
export RABBITMQ_DIST_PORT=$dist
export ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS='-kernel inet_dist_use_interface {127,0,0,1}'
export RABBITMQ_CONFIG_FILE='$dir/rabbitmq.conf'
export RABBITMQ_ENABLED_PLUGINS_FILE='$dir/enabled_plugins'
export RABBITMQ_MNESIA_BASE='$dir/mnesia'
export RABBITMQ_LOG_BASE='$dir/log'
export RABBITMQ_PID_FILE='$dir/rabbitmq.pid'
export RABBITMQ_CONF_ENV_FILE='$dir/rabbitmq-env.conf'
ENV
  : > "$dir/rabbitmq-env.conf"
  # Erlang starts an epmd daemon on first use; stop it afterwards only if this run started it.
  if ! pgrep -x epmd >/dev/null 2>&1; then on_stop "ERL_EPMD_ADDRESS=127.0.0.1 epmd -kill >/dev/null 2>&1 || true"; fi
  on_stop "_stop_rabbitmq '$dir'"
  (
    # shellcheck disable=SC1091
    source "$dir/env.sh"
    /usr/lib/rabbitmq/bin/rabbitmq-plugins enable --offline rabbitmq_amqp1_0 >/dev/null
    setsid /usr/lib/rabbitmq/bin/rabbitmq-server >"$dir/log/console.txt" 2>&1 &
    echo $! > "$dir/launcher.pid"
  )
  wait_port "$port" 90 || { tail -20 "$dir/log/console.txt" >&2; return 1; }
  (
    # shellcheck disable=SC1091
    source "$dir/env.sh"
    /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup >/dev/null
    # rabbitmq-server run directly writes no pid file: record the node's OS pid for the restart test and for stopping.
    /usr/lib/rabbitmq/bin/rabbitmqctl -q eval 'list_to_integer(os:getpid()).' > "$RABBITMQ_PID_FILE"
    local q=mediagen-jobs
    /usr/lib/rabbitmq/bin/rabbitmqctl -q eval "rabbit_amqqueue:declare(rabbit_misc:r(<<\"/\">>, queue, <<\"$q.dead-letter\">>), true, false, [], none, <<\"mediagen\">>)." >/dev/null
    /usr/lib/rabbitmq/bin/rabbitmqctl -q eval "rabbit_amqqueue:declare(rabbit_misc:r(<<\"/\">>, queue, <<\"$q\">>), true, false, [{<<\"x-queue-type\">>, longstr, <<\"quorum\">>}], none, <<\"mediagen\">>)." >/dev/null
    /usr/lib/rabbitmq/bin/rabbitmqctl -q set_policy mediagen-dead-letter "^$q\$" "{\"dead-letter-exchange\":\"\",\"dead-letter-routing-key\":\"$q.dead-letter\",\"delivery-limit\":5}" --apply-to queues >/dev/null
  ) || return 1
  export MEDIAGEN_RABBITMQ_AMQP="amqp://guest:guest@127.0.0.1:$port"
  export MEDIAGEN_RABBITMQ_QUEUE=mediagen-jobs
  export MEDIAGEN_RABBITMQ_ENV="$dir/env.sh"
}

_stop_rabbitmq() {
  local dir=$1
  (
    # shellcheck disable=SC1091
    source "$dir/env.sh"
    timeout 30 /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1
  )
  [[ -f "$dir/launcher.pid" ]] && kill "$(cat "$dir/launcher.pid")" 2>/dev/null
  [[ -f "$dir/rabbitmq.pid" ]] && kill "$(cat "$dir/rabbitmq.pid")" 2>/dev/null
  return 0
}

MEDIAGEN_SERVERS+=(rabbitmq)
