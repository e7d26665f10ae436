#!/bin/bash
# Builds librdkafka >= 2.1 into PREFIX from Debian's own source package (trixie), as
# scripts/setup does: Debian 12 ships 2.0.2, which cannot talk to newer brokers. The
# archive comes from the build image's apt sources; no host name is written here.
#
# The prefix holds the static library only, with an rdkafka.pc that links it: programs
# built against it carry librdkafka inside them (its TLS, SASL and compression libraries
# stay shared), so they need no rpath, no LD_LIBRARY_PATH and no librdkafka at run time.
# Usage (in a Debian 12 build stage, as root, or from scripts/setup): librdkafka.sh PREFIX [VERSION]
set -euo pipefail
prefix=${1:?usage: librdkafka.sh PREFIX [VERSION]}
version=${2:-2.8.0}
work=$(mktemp -d)
archive=$(
    {
        awk '/^URIs:/{u=$2} /^Suites:/{ if (u !~ /security/) print u }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true
        awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /^https?:/) { print $i; break } }' \
            /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
    } | grep -v -e security -e '^$' | head -1
)
[ -n "$archive" ] || { echo "librdkafka.sh: no Debian archive in /etc/apt sources" >&2; exit 1; }
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/build"
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $archive trixie main" >"$work/sources.list"
apt_private=(-o "Dir::Etc::SourceList=$work/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "APT::Sandbox::User=root")
apt-get "${apt_private[@]}" update -q >/dev/null
cd "$work/build"
apt-get "${apt_private[@]}" source --download-only -q "librdkafka=$version-1" >/dev/null
dpkg-source -x --no-check "librdkafka_$version-1.dsc" src >/dev/null
cd src
./configure --prefix="$prefix" --no-download --disable-curl >/dev/null
make -j"$(nproc)" libs >/dev/null
make install-subdirs >/dev/null
rm -rf "$work"
rm -f "$prefix"/lib/librdkafka*.so* "$prefix"/lib/librdkafka++* "$prefix"/lib/pkgconfig/rdkafka++*.pc \
    "$prefix"/lib/librdkafka-static.a "$prefix"/lib/pkgconfig/rdkafka-static.pc
# librdkafka's own rdkafka.pc names its dependencies as private ones (for the shared
# library); linked statically, they are the program's to link.
cat >"$prefix/lib/pkgconfig/rdkafka.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: librdkafka
Description: The Apache Kafka C library, linked statically (built by librdkafka.sh)
Version: $version
Requires: zlib libcrypto libssl libsasl2 libzstd liblz4
Cflags: -I\${includedir}
Libs: -L\${libdir} -lrdkafka -lm -ldl -lpthread -lrt
EOF
echo "librdkafka.sh: $version installed in $prefix"
