# Sourced by the tools: installs Debian packages that are missing, as root; otherwise says how.
#   apt_install_missing TAG PACKAGE...   (no packages: nothing to do)
apt_install_missing() {
  local tag=$1
  shift
  (($#)) || return 0
  if [[ $(id -u) -eq 0 ]]; then
    echo "$tag: installing $*" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "$tag: missing Debian packages; run: sudo apt-get install $*" >&2
    exit 1
  fi
}
