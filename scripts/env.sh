# Source this file (". scripts/env.sh") to build and run against the project-local
# prefix that scripts/setup fills: librdkafka (static) for pkg-config, Tansu and the
# Python tools on PATH.
_ocr_root=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
if [ -d "$_ocr_root/.tools/librdkafka/lib" ]; then
    export PKG_CONFIG_PATH="$_ocr_root/.tools/librdkafka/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
export PATH="$_ocr_root/.tools/bin:$_ocr_root/.tools/venv/bin:/opt/swift/usr/bin:$PATH"
export OCR_WORKER_ROOT="$_ocr_root"
unset _ocr_root
