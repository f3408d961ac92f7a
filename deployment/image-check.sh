#!/usr/bin/env bash
# Builds Easel's container image without a registry or Docker daemon and checks its layout
# (deployment/README.md, "Checking the image here"): Jib builds on a synthetic base image (a
# local tar) and hands the result to a stand-in `docker` that keeps it as
# target/image-check/image.tar; ContainerImageIT then reads that tar. Extra Maven arguments are
# passed on (e.g. -o).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$PWD/target/image-check"
rm -rf "$work" && mkdir -p "$work/base/rootfs/etc" "$work/base/rootfs/home/jboss" "$work/base/rootfs/tmp"

# The synthetic base: one layer with a passwd entry for uid 185, in `docker save` layout.
printf 'root:x:0:0::/root:/bin/sh\njboss:x:185:0::/home/jboss:/bin/sh\n' > "$work/base/rootfs/etc/passwd"
tar --owner=0 --group=0 --mtime=@0 -C "$work/base/rootfs" -cf "$work/base/layer.tar" .
diff_id="sha256:$(sha256sum "$work/base/layer.tar" | cut -d' ' -f1)"
printf '{"architecture":"amd64","os":"linux","config":{"Env":["PATH=/usr/bin"],"User":"185"},"rootfs":{"type":"layers","diff_ids":["%s"]}}' \
  "$diff_id" > "$work/base/config.json"
printf '[{"Config":"config.json","RepoTags":["easel-check/base:1"],"Layers":["layer.tar"]}]' > "$work/base/manifest.json"
tar -C "$work/base" -cf "$work/base.tar" config.json manifest.json layer.tar

# The stand-in docker CLI: Jib runs `docker info` and `docker load` (image tar on stdin).
cat > "$work/docker" <<SCRIPT
#!/bin/sh
case "\$1" in
  load) cat > "$work/image.tar"; echo "Loaded image: easel" ;;
  *) echo '{}' ;;
esac
SCRIPT
chmod +x "$work/docker"

./mvnw package -DskipTests -DskipNativeCheck -Dquarkus.container-image.build=true \
  "-Dquarkus.jib.base-jvm-image=tar://$work/base.tar" "-Dquarkus.jib.docker-executable-name=$work/docker" "$@"
./mvnw failsafe:integration-test failsafe:verify -Dit.test=ContainerImageIT "-Deasel.image.tar=$work/image.tar" "$@"
