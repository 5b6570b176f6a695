build-tsan/obj/src/lib/pull_docker.o: src/lib/pull_docker.c \
 include/beampush/manifest.h include/beampush/common.h \
 include/beampush/digest.h include/beampush/store_oci.h src/lib/client.h \
 include/beampush/client.h include/beampush/credentials.h \
 include/beampush/reference.h src/lib/registry.h src/lib/http.h \
 src/util/dynbuf.h src/lib/compress.h src/lib/gunzip.h \
 src/lib/oci_archive.h src/lib/pull_docker.h include/beampush/transport.h \
 src/lib/store_daemon.h src/lib/store_archive.h src/lib/tar.h \
 src/util/fileutil.h src/util/strutil.h
include/beampush/manifest.h:
include/beampush/common.h:
include/beampush/digest.h:
include/beampush/store_oci.h:
src/lib/client.h:
include/beampush/client.h:
include/beampush/credentials.h:
include/beampush/reference.h:
src/lib/registry.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/compress.h:
src/lib/gunzip.h:
src/lib/oci_archive.h:
src/lib/pull_docker.h:
include/beampush/transport.h:
src/lib/store_daemon.h:
src/lib/store_archive.h:
src/lib/tar.h:
src/util/fileutil.h:
src/util/strutil.h:
