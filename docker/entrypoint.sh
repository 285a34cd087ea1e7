#!/bin/bash
# Entrypoint of the migrator image (docker/Dockerfile), for the Spark nodes and the migrator alike.
#
#   <image> migrate --config FILE ...       runs `migrator migrate --master ... --conf ... --config FILE ...`
#   <image> check|validate|... ARGS         any other migrator subcommand or option (also `migrator ARGS`)
#   <image> /opt/spark/bin/spark-class ...  an executable: run as given (the Spark master and workers)
#
# For `migrate` and `validate` the Spark driver runs in this container (client mode), so the
# executors on the workers must be able to open connections back to it. Before the user's own
# arguments (which win: argparse keeps the last --master, and the last --conf of a key wins), it adds:
#   --master $MIGRATOR_SPARK_MASTER                 unless unset or empty (then the migrator uses local[*]);
#                                                   docker-compose.yml sets spark://spark-master:7077
#   spark.driver.host=$MIGRATOR_DRIVER_HOST         default: this container's IPv4 address, which every
#                                                   container on the compose network can reach, even when
#                                                   `docker compose run` gives it no service alias
#   spark.driver.bindAddress=0.0.0.0                so an external name in MIGRATOR_DRIVER_HOST still binds
#   spark.driver.port=$MIGRATOR_DRIVER_PORT                     default 7078; empty: a random port
#   spark.driver.blockManager.port=$MIGRATOR_BLOCK_MANAGER_PORT default 7079; empty: a random port
# Then it hands over to the Spark image's own entrypoint, which runs the command as given.
set -euo pipefail

: "${MIGRATOR_SPARK_MASTER=}"
: "${MIGRATOR_DRIVER_PORT=7078}"
: "${MIGRATOR_BLOCK_MANAGER_PORT=7079}"
SPARK_IMAGE_ENTRYPOINT=/opt/entrypoint.sh

# This container's first IPv4 address, as /etc/hosts maps its hostname; the hostname if there is none.
container_address() {
  local address
  for address in $(hostname -i 2>/dev/null); do
    case "$address" in
      *:* | 127.*) ;;
      *) echo "$address"; return 0 ;;
    esac
  done
  hostname
}

is_migrator_call() {
  [ "$#" -eq 0 ] && return 0
  case "$1" in
    -*) return 0 ;;
    */* | driver | executor) return 1 ;; # a path, or the Spark image's Kubernetes modes
  esac
  ! command -v "$1" >/dev/null 2>&1
}

migrator_call=false
if [ "${1:-}" = migrator ]; then
  shift
  migrator_call=true
elif is_migrator_call "$@"; then
  migrator_call=true
fi

if [ "$migrator_call" = true ]; then
  case "${1:-}" in
    migrate | validate)
      subcommand=$1
      shift
      spark=()
      if [ -n "$MIGRATOR_SPARK_MASTER" ]; then
        spark+=(--master "$MIGRATOR_SPARK_MASTER")
      fi
      spark+=(--conf "spark.driver.host=${MIGRATOR_DRIVER_HOST:-$(container_address)}")
      spark+=(--conf "spark.driver.bindAddress=0.0.0.0")
      if [ -n "$MIGRATOR_DRIVER_PORT" ]; then
        spark+=(--conf "spark.driver.port=$MIGRATOR_DRIVER_PORT")
      fi
      if [ -n "$MIGRATOR_BLOCK_MANAGER_PORT" ]; then
        spark+=(--conf "spark.driver.blockManager.port=$MIGRATOR_BLOCK_MANAGER_PORT")
      fi
      set -- migrator "$subcommand" "${spark[@]}" "$@"
      ;;
    *)
      set -- migrator "$@"
      ;;
  esac
fi

# The official image's entrypoint adds a passwd entry when the container runs under a UID that has
# none (as OpenShift does) and then runs the command; without it (another base image), run it here.
if [ -x "$SPARK_IMAGE_ENTRYPOINT" ]; then
  exec "$SPARK_IMAGE_ENTRYPOINT" "$@"
fi
exec "$@"
