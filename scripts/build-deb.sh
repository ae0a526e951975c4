#!/usr/bin/env bash
# Builds the flowsentry Debian package with dpkg-deb, offline:
#   scripts/build-deb.sh [-o OUTDIR]        # default OUTDIR: .build/deb
# Prints the path of the .deb on stdout (everything else goes to stderr).
# FLOWSENTRY_DEB_VERSION sets the version, FLOWSENTRY_DEB_XZ_LEVEL the xz level (6).
#
# The binary is the release build with the Swift runtime and Foundation
# linked in (--static-swift-stdlib), so the package needs no Swift
# toolchain: its Depends are the C libraries `ldd` shows, mapped to their
# Debian packages by dpkg-shlibdeps. Man pages come from the generate-manual
# tool of swift-argument-parser's GenerateManual plugin (one page per
# subcommand), completions from the binary itself.
#
# Layout:
#   /usr/bin/flowsentry
#   /usr/share/flowsentry/rules/{flowsentry.fsb,policy.yaml}  (the default bundle; docs/live.md, search order)
#   /etc/flowsentry/flowsentry.yaml                          (conffile, the annotated example)
#   /etc/logrotate.d/flowsentry                              (conffile)
#   /lib/systemd/system/flowsentry@.service
#   /usr/share/man/man1/flowsentry*.1.gz
#   /usr/share/bash-completion/completions/flowsentry, /usr/share/zsh/vendor-completions/_flowsentry
#   /usr/share/doc/flowsentry/{README.md,copyright,changelog.gz}
# Maintainer scripts (packaging/): postinst creates the system user and
# /var/log/flowsentry; prerm stops the instances; postrm purge removes logs and user.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.build/deb
while getopts "o:" opt; do
  case $opt in
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-o OUTDIR]" >&2; exit 64 ;;
  esac
done
log() { echo "build-deb: $*" >&2; }
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture; do
  command -v "$tool" >/dev/null 2>&1 || { echo "build-deb: $tool not found (apt-get install dpkg-dev)" >&2; exit 1; }
done

# 1. The binary, with the Swift runtime inside: the release build every
#    script makes (scripts/test.sh, demo.sh), so here usually nothing to do.
log "swift build -c release --static-swift-stdlib --product flowsentry"
swift build -c release --static-swift-stdlib --product flowsentry >&2
bin_dir=$(swift build -c release --static-swift-stdlib --show-bin-path)
bin=$bin_dir/flowsentry
if ldd "$bin" | grep -q 'libswift\|libFoundation'; then
  echo "build-deb: $bin still links the Swift runtime dynamically:" >&2
  ldd "$bin" >&2
  exit 1
fi

# 2. Version: the release the binary says it is (`flowsentry --version`,
#    BuildInfo.version), then the commit's date and id, so later commits of
#    one release sort higher (FLOWSENTRY_DEB_VERSION overrides).
version=${FLOWSENTRY_DEB_VERSION:-$("$bin" --version)+git$(git log -1 --format=%cd --date=format:%Y%m%d%H%M).$(git rev-parse --short=7 HEAD)}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
maintainer=$(git log -1 --format='%an <%ae>')
# Reproducible dates (man pages, changelog): the commit's time.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
commit_date=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)

stage=$(mktemp -d "${TMPDIR:-/tmp}/flowsentry-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/root
mkdir -p "$root/DEBIAN"

# 3. Files.
install -D -m 0755 "$bin" "$root/usr/bin/flowsentry"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/flowsentry"
install -D -m 0644 rules/flowsentry.fsb "$root/usr/share/flowsentry/rules/flowsentry.fsb"
install -D -m 0644 rules/policy.yaml "$root/usr/share/flowsentry/rules/policy.yaml"
install -D -m 0644 systemd/flowsentry.yaml.example "$root/etc/flowsentry/flowsentry.yaml"
install -D -m 0644 systemd/flowsentry.logrotate "$root/etc/logrotate.d/flowsentry"
install -D -m 0644 systemd/flowsentry@.service "$root/lib/systemd/system/flowsentry@.service"
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' systemd/flowsentry@.service)
[ -x "$root$exec_start" ] || { echo "build-deb: the unit's ExecStart $exec_start is not in the package" >&2; exit 1; }

# Man pages: generate-manual, the tool behind swift-argument-parser's
# GenerateManual plugin, run on the packaged binary (it reads
# `flowsentry --experimental-dump-help`), one page per subcommand
# (flowsentry.1, flowsentry.run.1, ...). Run directly rather than through
# `swift package plugin generate-manual`, whose build of the whole package
# cannot take --static-swift-stdlib and so would rebuild every module
# (about 10 minutes here) instead of this tool alone (about 50 s).
log "generating man pages (swift-argument-parser's generate-manual)"
parser=.build/checkouts/swift-argument-parser
[ -f "$parser/Tools/generate-manual/GenerateManual.swift" ] || { echo "build-deb: $parser/Tools/generate-manual not found (swift package resolve)" >&2; exit 1; }
swift build --package-path "$parser" --scratch-path .build/generate-manual --product generate-manual >&2
man_src=$stage/man
mkdir -p "$man_src"
.build/generate-manual/debug/generate-manual "$root/usr/bin/flowsentry" --multi-page --section 1 \
  --date "$commit_date" --authors "$maintainer" --output-directory "$man_src" >&2
[ -f "$man_src/flowsentry.1" ] || { echo "build-deb: generate-manual wrote no flowsentry.1" >&2; exit 1; }
install -d "$root/usr/share/man/man1"
# A subcommand's page is named flowsentry.run(1) but its NAME says
# "flowsentry run": name it both ways there, so whatis/apropos (lexgrog)
# find it by its page name; the SYNOPSIS keeps "flowsentry run".
for page in "$man_src"/*.1; do
  sed '/^\.Sh NAME$/{n;s/^\.Nm "\(flowsentry\) \([a-z-]*\)"$/.Nm "\1 \2" ,\n.Nm \1.\2/}' "$page" \
    | gzip -9n > "$root/usr/share/man/man1/$(basename "$page").gz"
  chmod 0644 "$root/usr/share/man/man1/$(basename "$page").gz"
done

# Completions, from the packaged binary itself.
install -d "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions"
# (A completion file is sourced, not run: no #! line.)
"$root/usr/bin/flowsentry" --generate-completion-script bash | sed '1{/^#!/d}' > "$root/usr/share/bash-completion/completions/flowsentry"
"$root/usr/bin/flowsentry" --generate-completion-script zsh > "$root/usr/share/zsh/vendor-completions/_flowsentry"
chmod 0644 "$root/usr/share/bash-completion/completions/flowsentry" "$root/usr/share/zsh/vendor-completions/_flowsentry"

doc=$root/usr/share/doc/flowsentry
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 systemd/README.md "$doc/README.systemd.md"
install -D -m 0644 packaging/copyright "$doc/copyright"
{
  echo "flowsentry ($version) unstable; urgency=medium"
  echo
  echo "  * Built from commit $(git rev-parse HEAD)."
  echo
  echo " -- $maintainer  $(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$doc/changelog.gz"
chmod 0644 "$doc/changelog.gz"

# 4. Control data.
install -m 0755 packaging/postinst packaging/prerm packaging/postrm "$root/DEBIAN/"
printf '/etc/flowsentry/flowsentry.yaml\n/etc/logrotate.d/flowsentry\n' > "$root/DEBIAN/conffiles"
# Depends: the shared libraries the binary needs, by dpkg-shlibdeps (which
# reads the libraries' shlibs/symbols files for the minimal versions), and
# the tools the maintainer scripts call.
mkdir -p "$stage/debian"
: > "$stage/debian/control"
shlib_depends=$(cd "$stage" && dpkg-shlibdeps -O "$root/usr/bin/flowsentry" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$shlib_depends" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
depends="$shlib_depends, adduser"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum > DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums" "$root/DEBIAN/conffiles"
installed_size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" -e "s|@DEPENDS@|$depends|" \
    packaging/control.in > "$root/DEBIAN/control"

# 5. The package (owned by root whoever builds it; file dates clamped).
mkdir -p "$out"
deb=$out/flowsentry_${version}_${arch}.deb
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -print0 | xargs -0r touch --no-dereference --date="@$SOURCE_DATE_EPOCH"
# xz -6 (dpkg's default) takes ~30 s of CPU for the 66 MB binary; the CI
# test builds with FLOWSENTRY_DEB_XZ_LEVEL=1 (~6 s, 19 MB instead of 17 MB).
dpkg-deb --root-owner-group -Zxz -z"${FLOWSENTRY_DEB_XZ_LEVEL:-6}" --build "$root" "$deb" >&2
log "$deb: $(du -h "$deb" | cut -f1), Depends: $depends"
echo "$deb"
