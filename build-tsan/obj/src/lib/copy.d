build-tsan/obj/src/lib/copy.o: src/lib/copy.c include/beampush/client.h \
 include/beampush/common.h include/beampush/credentials.h \
 include/beampush/digest.h include/beampush/reference.h \
 include/beampush/manifest.h src/lib/client.h src/lib/registry.h \
 src/lib/http.h src/util/dynbuf.h src/lib/jobs.h src/lib/steps.h \
 src/lib/cache.h src/util/strutil.h
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/manifest.h:
src/lib/client.h:
src/lib/registry.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/jobs.h:
src/lib/steps.h:
src/lib/cache.h:
src/util/strutil.h:
