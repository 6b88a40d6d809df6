#!/bin/sh
# rollout.sh — rolls a new plugin version out to Portico hosts one at a time:
# drops the file into a host's plugins.dir (its plugin watch loads it), waits
# until that host's /status shows every service of the plugin on the new
# version and its /ready answers 200, then goes on to the next host. The first
# host that does not get there stops the roll-out; the hosts after it keep the
# old version. docs/deploy.md describes it; tests/integration/fleet_test.cpp
# runs it against three hosts behind haproxy.
set -eu

usage() {
    cat >&2 <<'EOF'
usage: rollout.sh [--name PLUGIN] [--timeout SECONDS] FILE.so VERSION PLUGIN_DIR@ADMIN_URL...

  FILE.so        the new build of the plugin
  VERSION        the version it declares (PORTICO_PLUGIN(name, VERSION, ...))
  PLUGIN_DIR@ADMIN_URL
                 one host: the folder its plugins.dir names (mounted here) and
                 its admin server, e.g. /srv/portico-a/plugins@http://10.0.0.2:9900
  --name         the plugin's name (default: FILE's name without .so); the file
                 is installed as PLUGIN_DIR/NAME.so
  --timeout      how long to wait for each host (default 30)

The admin token, if the hosts need one, is read from $PORTICO_ADMIN_TOKEN.
Needs curl and python3.
EOF
    exit 2
}

name=""
timeout=30
while [ $# -gt 0 ]; do
    case "$1" in
    --name) [ $# -ge 2 ] || usage; name=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || usage; timeout=$2; shift 2 ;;
    -h | --help) usage ;;
    --) shift; break ;;
    -*) echo "rollout.sh: unknown option '$1'" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -ge 3 ] || usage
file=$1
version=$2
shift 2
[ -f "$file" ] || { echo "rollout.sh: $file: no such file" >&2; exit 2; }
[ -n "$name" ] || name=$(basename "$file" .so)

# GET $1 from the admin server $2; the body on stdout, fails on a refusal or an HTTP error.
admin_get() {
    if [ -n "${PORTICO_ADMIN_TOKEN:-}" ]; then
        curl -fsS --max-time 5 -H "Authorization: Bearer $PORTICO_ADMIN_TOKEN" "$2$1"
    else
        curl -fsS --max-time 5 "$2$1"
    fi
}

# The versions the services bound to plugin $1 serve new connections with, one per line.
serving_versions() {
    python3 -c '
import json, sys
status = json.load(sys.stdin)
for service in status.get("services", []):
    if service.get("plugin") == sys.argv[1] and service.get("state", "serving") == "serving":
        print(service.get("plugin_version", ""))
' "$1"
}

# True once every service of plugin $name on admin server $1 serves $version.
on_new_version() {
    versions=$(admin_get /status "$1" | serving_versions "$name") || return 1
    [ -n "$versions" ] || return 1
    ! printf '%s\n' "$versions" | grep -qvxF "$version"
}

count=0
for host in "$@"; do
    count=$((count + 1))
    dir=${host%%@*}
    admin=${host#*@}
    admin=${admin%/}
    if [ "$dir" = "$host" ] || [ -z "$dir" ] || [ -z "$admin" ]; then
        echo "rollout.sh: '$host' is not PLUGIN_DIR@ADMIN_URL" >&2
        exit 2
    fi
    [ -d "$dir" ] || { echo "rollout.sh: host $count: $dir is not a folder" >&2; exit 1; }
    echo "rollout.sh: host $count ($admin): installing $name $version in $dir"
    # A copy beside the target, then a rename: the host never reads half a file.
    tmp="$dir/.$name.so.rollout-$$"
    cp "$file" "$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$dir/$name.so"
    waited=0
    until on_new_version "$admin" && admin_get /ready "$admin" >/dev/null 2>&1; do
        if [ "$waited" -ge "$((timeout * 10))" ]; then
            echo "rollout.sh: host $count ($admin): $name is not serving version $version after ${timeout}s" \
                "(see its /status and log); roll-out stopped, the hosts after it keep their version" >&2
            exit 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    echo "rollout.sh: host $count ($admin): serving $name $version, ready"
done
echo "rollout.sh: $count host(s) serve $name $version"
