build-tsan/obj/src/lib/jobs.o: src/lib/jobs.c src/lib/jobs.h \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h include/beampush/manifest.h \
 src/lib/client.h src/lib/registry.h src/lib/http.h src/util/dynbuf.h \
 src/util/strutil.h
src/lib/jobs.h:
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
src/util/strutil.h:
