# The version of every Gatehouse program and package: `--version` prints it
# (tools/cli/version.h.in) and CPack stamps it on the .deb files
# (packaging/CMakeLists.txt). Included by the top-level CMakeLists.txt before
# any folder, so that both see it. Raise it for each release.
set(GATEHOUSE_VERSION 0.1.0)
