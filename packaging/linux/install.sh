#!/bin/sh
# Installs the Logstag Agent from this unpacked archive.
#   sudo ./install.sh              into / (creates the service user, reloads systemd)
#   ./install.sh --root DIR        into DIR (a package build, an image, a test); nothing is started
# Lays out:
#   /opt/logstag-agent/                          the agent with its own Node 22 (replaced on upgrade)
#   /usr/bin/logstag-agent                       -> /opt/logstag-agent/bin/logstag-agent
#   /usr/lib/systemd/system/logstag-agent.service, /usr/lib/sysusers.d/logstag-agent.conf
#   /etc/logstag-agent/config.json.example       (config.json and vault-key.cred are yours; never overwritten)
set -eu
src=$(dirname -- "$(readlink -f -- "$0")")
root=/
while [ $# -gt 0 ]; do
  case "$1" in
    --root) root=${2:?--root needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
root=$(readlink -f -- "$root")
r=${root%/}

install -d -m 0755 "$r/opt" "$r/usr/bin" "$r/usr/lib/systemd/system" "$r/usr/lib/sysusers.d"
install -d -m 0755 "$r/etc/logstag-agent"
# Replace the program tree as a whole (hard links where the archive sits on the same file system).
rm -rf "$r/opt/logstag-agent.new"
cp -al "$src/opt/logstag-agent" "$r/opt/logstag-agent.new" 2>/dev/null || cp -a "$src/opt/logstag-agent" "$r/opt/logstag-agent.new"
rm -rf "$r/opt/logstag-agent.old"
[ ! -e "$r/opt/logstag-agent" ] || mv "$r/opt/logstag-agent" "$r/opt/logstag-agent.old"
mv "$r/opt/logstag-agent.new" "$r/opt/logstag-agent"
rm -rf "$r/opt/logstag-agent.old"
# Relative, so the same link works inside a --root tree and on the real system.
ln -sfn ../../opt/logstag-agent/bin/logstag-agent "$r/usr/bin/logstag-agent"
install -m 0644 "$src/usr/lib/systemd/system/logstag-agent.service" "$r/usr/lib/systemd/system/logstag-agent.service"
install -m 0644 "$src/usr/lib/sysusers.d/logstag-agent.conf" "$r/usr/lib/sysusers.d/logstag-agent.conf"
install -m 0644 "$src/etc/logstag-agent/config.json.example" "$r/etc/logstag-agent/config.json.example"

if [ "$r" = "" ]; then
  systemd-sysusers logstag-agent.conf
  systemctl daemon-reload 2>/dev/null || true
  echo "installed: logstag-agent $(/usr/bin/logstag-agent --version)"
  echo "next: write /etc/logstag-agent/config.json (see config.json.example), seal secrets with"
  echo "      \`printf %s \"\$PW\" | sudo logstag-agent secret encrypt --backend host\`, then"
  echo "      \`sudo systemctl enable --now logstag-agent\` (docs: /opt/logstag-agent/docs/headless.md)"
else
  echo "installed into $root (service user and systemd reload are left to the image or package)"
fi
