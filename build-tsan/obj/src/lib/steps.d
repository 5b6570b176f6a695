build-tsan/obj/src/lib/steps.o: src/lib/steps.c src/lib/steps.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/manifest.h src/lib/cache.h \
 src/lib/jobs.h src/lib/registry.h src/lib/http.h src/util/dynbuf.h \
 src/lib/client.h src/util/strutil.h
src/lib/steps.h:
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
include/beampush/manifest.h:
src/lib/cache.h:
src/lib/jobs.h:
src/lib/registry.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/client.h:
src/util/strutil.h:
