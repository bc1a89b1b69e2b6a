#!/bin/sh
# Installs the external programs some tests drive. Each missing one is reported once;
# the tests that need it then say plainly that they were skipped.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's chromium for the browser tests"
    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1)) \
      || echo "could not install chromium: browser tests will be skipped"
  else
    echo "chromium is not installed (needs root and apt-get): browser tests will be skipped"
  fi
fi
exit 0
