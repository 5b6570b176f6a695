build-tsan/obj/tests/unit/test_upload.o: tests/unit/test_upload.c \
 src/lib/registry_upload.h src/lib/registry_int.h src/lib/registry.h \
 include/beampush/common.h include/beampush/credentials.h \
 include/beampush/digest.h src/lib/http.h src/util/dynbuf.h \
 src/lib/auth.h src/lib/retry.h src/lib/state.h src/util/strutil.h
src/lib/registry_upload.h:
src/lib/registry_int.h:
src/lib/registry.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/auth.h:
src/lib/retry.h:
src/lib/state.h:
src/util/strutil.h:
