build-tsan/obj/src/lib/pull.o: src/lib/pull.c include/beampush/client.h \
 include/beampush/common.h include/beampush/credentials.h \
 include/beampush/digest.h include/beampush/reference.h \
 include/beampush/manifest.h include/beampush/store_oci.h \
 include/beampush/transport.h src/lib/client.h src/lib/registry.h \
 src/lib/http.h src/util/dynbuf.h src/lib/jobs.h src/lib/oci_archive.h \
 src/lib/pull_docker.h src/lib/store_daemon.h src/lib/steps.h \
 src/lib/cache.h src/util/strutil.h
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
src/lib/oci_archive.h:
src/lib/pull_docker.h:
src/lib/store_daemon.h:
src/lib/steps.h:
src/lib/cache.h:
src/util/strutil.h:
