#!/usr/bin/env bash
# Builds the .deb (scripts/build-deb.sh), installs it with dpkg -i, runs the
# installed flowsentry from its installed paths, and purges it again:
#   scripts/test-deb.sh [DEB]     # as root; DEB: test this package instead of building one
#
# Checks: the files are where the unit, the man pages and the docs say; the
# postinst made the system user and /var/log/flowsentry; check-config
# accepts the installed example config (on `lo`) and names the installed
# bundle; replay finds the installed bundle by the default search order and
# writes the same flows and alerts as the build tree's binary given that
# bundle explicitly; the service user can read the bundle; purge removes the
# binary, the config, the logs and the user.
#
# A package installed before the test is left installed (upgraded to this
# build); otherwise the machine is left as it was found.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
if [ "$(id -u)" -ne 0 ]; then
  echo "test-deb: skipped (needs root to install the package)" >&2
  exit 0
fi
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
ok() { echo "test-deb: ok: $*" >&2; }
start=$(date +%s)

deb=${1:-$(FLOWSENTRY_DEB_XZ_LEVEL=1 bash scripts/build-deb.sh)}
[ -f "$deb" ] || fail "no package at $deb"
built=$(date +%s)

installed_before=no
if dpkg-query -W -f='${Status}' flowsentry 2>/dev/null | grep -q "install ok installed"; then
  installed_before=yes
  echo "test-deb: flowsentry is already installed: upgrading it, and leaving it installed afterwards" >&2
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/flowsentry-debtest.XXXXXX")
chmod 0755 "$work"
cleanup() {
  rm -rf "$work"
  if [ "$installed_before" = no ] && dpkg-query -W -f='${Status}' flowsentry 2>/dev/null | grep -q "installed"; then
    dpkg --purge flowsentry >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# --- install ----------------------------------------------------------------
dpkg -i "$deb" >&2 || fail "dpkg -i $deb"
[ "$(command -v flowsentry)" = /usr/bin/flowsentry ] || fail "flowsentry is not /usr/bin/flowsentry on PATH"
pkg_version=$(dpkg-query -W -f='${Version}' flowsentry)
[[ "$pkg_version" == "$(/usr/bin/flowsentry --version)+git"* ]] || fail "package version $pkg_version is not the binary's ($(/usr/bin/flowsentry --version))"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
has() { grep -qx "$1" <<<"$contents"; }
for f in /usr/bin/flowsentry /usr/share/flowsentry/rules/flowsentry.fsb /usr/share/flowsentry/rules/policy.yaml \
         /etc/flowsentry/flowsentry.yaml /etc/logrotate.d/flowsentry /lib/systemd/system/flowsentry@.service \
         /usr/share/man/man1/flowsentry.1.gz /usr/share/bash-completion/completions/flowsentry \
         /usr/share/zsh/vendor-completions/_flowsentry /usr/share/doc/flowsentry/copyright; do
  has "$f" || fail "$f is not in the package"
  [ -e "$f" ] || fail "$f is not installed"
done
# Every subcommand has its page.
subcommands=$(flowsentry --experimental-dump-help | python3 -c 'import json,sys; print(*[c["commandName"] for c in json.load(sys.stdin)["command"]["subcommands"]])')
[ -n "$subcommands" ] || fail "flowsentry lists no subcommands"
for sub in $subcommands; do
  has "/usr/share/man/man1/flowsentry.$sub.1.gz" || fail "no man page for flowsentry $sub"
done
# The packaged config is the example; an installed one the site edited is
# kept by dpkg (a conffile), so the checks below then use the packaged copy.
config=/etc/flowsentry/flowsentry.yaml
if [ "$installed_before" = yes ]; then
  config=$work/flowsentry.yaml
  dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/flowsentry/flowsentry.yaml > "$config"
fi
cmp -s "$config" systemd/flowsentry.yaml.example || fail "$config differs from systemd/flowsentry.yaml.example"
dpkg-query -W -f='${Conffiles}\n' flowsentry | grep -q /etc/flowsentry/flowsentry.yaml || fail "flowsentry.yaml is not a conffile"

unit=/lib/systemd/system/flowsentry@.service
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -x "$exec_start" ] || fail "the unit's ExecStart $exec_start is not installed"
for doc in $(sed -n 's/^Documentation=//p' "$unit"); do
  case $doc in
    man:*) page=${doc#man:}; name=${page%(*}; sect=${page##*(}; sect=${sect%)}
           has "/usr/share/man/man$sect/$name.$sect.gz" || fail "Documentation=$doc is not in the package" ;;
    file:*) has "${doc#file:}" || fail "Documentation=$doc is not in the package" ;;
    *) fail "Documentation=$doc: not a man: or file: reference" ;;
  esac
done
if command -v systemd-analyze >/dev/null; then
  cp "$unit" "$work/flowsentry@lo.service"
  out=$(systemd-analyze verify --man=no "$work/flowsentry@lo.service" 2>&1) || fail "systemd-analyze verify: $out"
  ! grep -q flowsentry <<<"$out" || fail "systemd-analyze verify: $out"
fi
ok "files in place, unit's ExecStart and Documentation installed"

# --- what postinst did ------------------------------------------------------
getent passwd flowsentry >/dev/null || fail "no user flowsentry"
uid=$(id -u flowsentry)
[ "$uid" -lt 1000 ] || fail "flowsentry is not a system user (uid $uid)"
[ "$(getent passwd flowsentry | cut -d: -f7)" = /usr/sbin/nologin ] || fail "flowsentry has a login shell"
[ "$(id -gn flowsentry)" = flowsentry ] || fail "flowsentry's group is $(id -gn flowsentry)"
[ "$(stat -c '%U:%G %a' /var/log/flowsentry)" = "flowsentry:flowsentry 750" ] \
  || fail "/var/log/flowsentry is $(stat -c '%U:%G %a' /var/log/flowsentry)"
ok "system user flowsentry (uid $uid), /var/log/flowsentry flowsentry:flowsentry 750"

# --- the installed binary from the installed paths --------------------------
# The bundle flowsentry finds first: /etc/flowsentry/rules if a site put one
# there, else the package's.
expected_bundle=/usr/share/flowsentry/rules/flowsentry.fsb
[ -f /etc/flowsentry/rules/flowsentry.fsb ] && expected_bundle=/etc/flowsentry/rules/flowsentry.fsb
cd "$work"   # no ./rules here, and /usr/bin has no checkout above it
out=$(flowsentry check-config "$config" --interface lo 2>&1) || fail "check-config: $out"
grep -q "flowsentry.yaml: ok" <<<"$out" || fail "check-config did not say ok: $out"
grep -q "$expected_bundle" <<<"$out" || fail "check-config did not load $expected_bundle: $out"
ok "check-config $config --interface lo"

capture=$repo/captures/demo.pcap
flowsentry replay "$capture" --alerts "$work/alerts.json" --flows "$work/flows.json" 2>"$work/replay.err" \
  || fail "replay: $(cat "$work/replay.err")"
grep -q "model $expected_bundle" "$work/replay.err" || fail "replay did not use $expected_bundle: $(cat "$work/replay.err")"
# The build tree's binary with the package's bundle and policy named
# explicitly must give the same records.
"$repo/.build/release/flowsentry" replay "$capture" --model "$expected_bundle" \
  --policy "$(dirname "$expected_bundle")/policy.yaml" \
  --alerts "$work/alerts.ref.json" --flows "$work/flows.ref.json" 2>/dev/null || fail "build-tree replay"
flows=$(wc -l < "$work/flows.json"); alerts=$(wc -l < "$work/alerts.json")
[ "$flows" -gt 0 ] && [ "$alerts" -gt 0 ] || fail "replay wrote $flows flows and $alerts alerts"
cmp -s "$work/flows.json" "$work/flows.ref.json" || fail "installed replay's flows differ from the build tree's"
cmp -s "$work/alerts.json" "$work/alerts.ref.json" || fail "installed replay's alerts differ from the build tree's"
ok "replay captures/demo.pcap with $expected_bundle: $flows flows, $alerts alerts, same as the build tree"

# The service's user can read what the service reads.
cp "$capture" "$work/demo.pcap" && chmod 0644 "$work/demo.pcap"
runuser -u flowsentry -- /usr/bin/flowsentry replay "$work/demo.pcap" --flows /dev/null 2>"$work/user.err" \
  || fail "replay as user flowsentry: $(cat "$work/user.err")"
ok "user flowsentry reads the bundle and policy"

bash -c 'source /usr/share/bash-completion/completions/flowsentry && complete -p flowsentry' >/dev/null \
  || fail "the bash completion does not load"
if command -v zsh >/dev/null; then
  zsh -fc 'autoload -U compinit && compinit -u && source /usr/share/zsh/vendor-completions/_flowsentry' \
    || fail "the zsh completion does not load"
fi
if command -v logrotate >/dev/null; then
  logrotate -d /etc/logrotate.d/flowsentry >/dev/null 2>&1 || fail "logrotate -d /etc/logrotate.d/flowsentry"
fi
ok "completions load"
cd "$repo"

# --- remove and purge -------------------------------------------------------
if [ "$installed_before" = no ]; then
  dpkg --remove flowsentry >&2 || fail "dpkg --remove"
  [ ! -e /usr/bin/flowsentry ] || fail "/usr/bin/flowsentry left after remove"
  [ -f /etc/flowsentry/flowsentry.yaml ] || fail "remove took the conffile (only purge may)"
  dpkg --purge flowsentry >&2 || fail "dpkg --purge"
  for p in /etc/flowsentry /var/log/flowsentry /usr/share/flowsentry /lib/systemd/system/flowsentry@.service; do
    [ ! -e "$p" ] || fail "$p left after purge"
  done
  ! getent passwd flowsentry >/dev/null || fail "user flowsentry left after purge"
  ! getent group flowsentry >/dev/null || fail "group flowsentry left after purge"
  ! dpkg-query -W -f='${Status}' flowsentry 2>/dev/null | grep -q installed || fail "still known to dpkg after purge"
  ok "remove kept the config; purge removed binary, config, logs, user and group"
fi
end=$(date +%s)
echo "test-deb: passed ($((built - start)) s building the package, $((end - built)) s installing and testing)" >&2
