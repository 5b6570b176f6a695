build-tsan/obj/tests/unit/test_jobs.o: tests/unit/test_jobs.c \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h src/lib/client.h src/lib/registry.h \
 src/lib/http.h src/util/dynbuf.h src/lib/jobs.h \
 include/beampush/manifest.h
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
src/lib/client.h:
src/lib/registry.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/jobs.h:
include/beampush/manifest.h:
