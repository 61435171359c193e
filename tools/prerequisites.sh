# Sourced by run.sh and test.sh: installs what the project needs when it is missing, and nothing else.
# Debian/Ubuntu only (apt); needs root or sudo the first time.

apex_sudo() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "error: need root (or sudo) to install: $*" >&2; return 1; fi
}

# apex_apt_install PACKAGE...: installs the Debian packages that are not installed yet.
apex_apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing ${missing[*]} (apt)..." >&2
  apex_sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apex_sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

apex_require_dotnet() {
  if ! command -v dotnet >/dev/null || ! dotnet --list-sdks | grep -q '^10\.'; then
    echo "error: the .NET 10 SDK is required: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
    return 1
  fi
  export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# Everything the product and its tests need. gcc, patchelf and binutils let the build patch
# TorchSharp's native library for Debian 12's older libstdc++ (tools/torchsharp-glibcxx).
apex_prerequisites() {
  apex_require_dotnet
  apex_apt_install ffmpeg gcc libc6-dev patchelf binutils
  # ICU for the host's Unicode normalisation (Debian 12's package; other releases name theirs otherwise).
  ldconfig -p | grep -q libicuuc || apex_apt_install libicu72
}

# The tests also start throwaway PostgreSQL servers of their own (initdb + pg_ctl on a free port), and
# check the metrics with Prometheus' own tools (promtool, and a Prometheus server run against a host).
# The deployment checks render the Kubernetes overlays with kubectl's kustomize and validate them
# against the Kubernetes API schemas with a small Node tool (tools/k8s-validate). The console's browser
# tests drive Debian's Chromium with Playwright (no browser can be downloaded; APEX_CHROMIUM names another).
apex_test_prerequisites() {
  apex_prerequisites
  apex_apt_install postgresql prometheus chromium
  command -v kubectl >/dev/null || apex_apt_install kubernetes-client
  { command -v node >/dev/null && command -v npm >/dev/null; } || apex_apt_install nodejs npm
  (cd "$(dirname "${BASH_SOURCE[0]}")/k8s-validate" && npm ci --no-audit --no-fund --silent)
}
