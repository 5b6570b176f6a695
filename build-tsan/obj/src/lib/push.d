build-tsan/obj/src/lib/push.o: src/lib/push.c include/beampush/client.h \
 include/beampush/common.h include/beampush/credentials.h \
 include/beampush/digest.h include/beampush/reference.h \
 include/beampush/manifest.h include/beampush/store_oci.h \
 include/beampush/transport.h src/lib/client.h src/lib/registry.h \
 src/lib/http.h src/util/dynbuf.h src/lib/jobs.h src/lib/push_docker.h \
 src/lib/steps.h src/lib/cache.h src/lib/store_archive.h \
 src/lib/compress.h src/lib/tar.h src/util/fileutil.h \
 src/lib/store_daemon.h src/util/strutil.h
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/manifest.h:
include/beampush/store_oci.h:
include/beampush/transport.h:
src/lib/client.h:
src/lib/registry.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/jobs.h:
src/lib/push_docker.h:
src/lib/steps.h:
src/lib/cache.h:
src/lib/store_archive.h:
src/lib/compress.h:
src/lib/tar.h:
src/util/fileutil.h:
src/lib/store_daemon.h:
src/util/strutil.h:
