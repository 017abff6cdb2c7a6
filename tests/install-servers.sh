#!/usr/bin/env bash
# Install the servers the tests run for real, from Debian's packages. Idempotent: a package
# whose program is already present is not asked for again. The test fixtures start each server
# on a free loopback port and stop it afterwards; nothing is started here.
set -euo pipefail

# package: a path that proves it is installed
declare -A needed=(
  [postgresql]="/usr/lib/postgresql/*/bin/pg_ctl"
  [snmpd]="/usr/sbin/snmpd"
  [snmp]="/usr/bin/snmpget"
  [influxdb]="/usr/bin/influxd"
  [victoria-metrics]="/usr/bin/victoria-metrics"
  [openssh-server]="/usr/sbin/sshd"
  [faketime]="/usr/lib/*/faketime/libfaketime.so.1"  # steps a test process's wall clock (the scheduler tests)
  [prometheus-alertmanager]="/usr/bin/prometheus-alertmanager"  # receives the NOC webhook (tests/delivery/test_noc_alertmanager.py)
  [chromium]="/usr/bin/chromium"  # prints the crew list to PDF, headless (tests/reports/test_print_pdf.py)
  [fonts-dejavu-core]="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"  # the font it prints with: page counts
  [redis-server]="/usr/bin/redis-server"  # the cluster's broker and leader lock (tests/scheduling/test_cluster*.py)
)

missing=()
for package in "${!needed[@]}"; do
  # shellcheck disable=SC2086
  if ! compgen -G ${needed[$package]} >/dev/null; then
    missing+=("$package")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-servers: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
command -v apt-get >/dev/null || { echo "install-servers: no apt-get; install these yourself: ${missing[*]}" >&2; exit 1; }
echo "install-servers: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
