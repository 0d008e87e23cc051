# Headless Chromium (Debian's package) for the viewer's browser test, tests/test_viz_viewer.py.
# Run by bin/test. Installs only where it is missing and we are root with apt; otherwise says why, and the
# browser test then FAILS with its own message (it never skips).
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "[setup] chromium missing and apt-get unavailable: install Chromium at /usr/bin/chromium for the browser test"
elif [ "$(id -u)" != 0 ]; then
    echo "[setup] chromium missing: run 'sudo bash bin/_browser.sh' (Debian package chromium) for the browser test"
else
    echo "[setup] installing Debian chromium for the browser test"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "[setup] chromium could not be installed; the browser test will fail"
fi
exit 0
