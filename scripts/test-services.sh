#!/usr/bin/env bash
# Finds (or starts) the PostgreSQL and Redis the test suite needs and prints
#   TEXTPILOT_TEST_PG_URL=...   and   TEXTPILOT_TEST_REDIS_URL=...
# on stdout for `eval`. Reuses servers already answering on 127.0.0.1 (5432 / 6379);
# otherwise installs Debian's packages (when root) and starts throwaway servers on
# other ports under var/test-services/. Progress goes to stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
STATE_DIR=$(pwd)/var/test-services
mkdir -p "$STATE_DIR"
say() { echo "test-services: $*" >&2; }

can_connect_pg() {
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PYEOF
}

can_ping_redis() {
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()
PYEOF
}

apt_install() {
  if [ "$(id -u)" != 0 ]; then say "need root to apt-get install $*"; return 1; fi
  say "installing $* with apt-get"
  if [ ! -f "$STATE_DIR/.apt-updated" ]; then apt-get update -qq >&2 && touch "$STATE_DIR/.apt-updated"; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

# --- PostgreSQL -------------------------------------------------------------------
pg_url=${TEXTPILOT_TEST_PG_URL:-}
if [ -z "$pg_url" ]; then
  if can_connect_pg "postgres://postgres@127.0.0.1:5432/postgres"; then
    pg_url="postgres://postgres@127.0.0.1:5432/textpilot"
    say "reusing PostgreSQL on 127.0.0.1:5432"
  else
    port=55432
    pg_url="postgres://postgres@127.0.0.1:$port/textpilot"
    if ! can_connect_pg "postgres://postgres@127.0.0.1:$port/postgres"; then
      bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
      if [ -z "$bindir" ]; then apt_install postgresql; bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1); fi
      datadir="$STATE_DIR/pg"
      as_pg=()
      if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); mkdir -p "$datadir"; chown postgres "$datadir" "$STATE_DIR"; fi
      if [ ! -f "$datadir/PG_VERSION" ]; then
        say "initialising a throwaway PostgreSQL cluster in $datadir"
        "${as_pg[@]}" "$bindir/initdb" -D "$datadir" -U postgres -A trust >&2
      fi
      say "starting PostgreSQL on 127.0.0.1:$port"
      "${as_pg[@]}" "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w \
        -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >&2
    fi
  fi
fi

# --- Redis ------------------------------------------------------------------------
redis_url=${TEXTPILOT_TEST_REDIS_URL:-}
if [ -z "$redis_url" ]; then
  if can_ping_redis "redis://127.0.0.1:6379/15"; then
    redis_url="redis://127.0.0.1:6379/15"
    say "reusing Redis on 127.0.0.1:6379"
  else
    port=56379
    redis_url="redis://127.0.0.1:$port/15"
    if ! can_ping_redis "$redis_url"; then
      command -v redis-server >/dev/null || apt_install redis-server
      say "starting Redis on 127.0.0.1:$port"
      redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save "" --appendonly no \
        --dir "$STATE_DIR" --logfile "$STATE_DIR/redis.log" >&2
      for _ in $(seq 50); do can_ping_redis "$redis_url" && break; sleep 0.1; done
    fi
  fi
fi

# --- Chromium for the browser tests -------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then apt_install chromium fonts-dejavu-core; fi
if [ ! -x /usr/sbin/bearerbox ] || [ ! -x /usr/lib/kannel/test/fakesmsc ]; then apt_install kannel kannel-extras; fi

echo "TEXTPILOT_TEST_PG_URL=$pg_url"
echo "TEXTPILOT_TEST_REDIS_URL=$redis_url"
