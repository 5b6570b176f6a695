build-tsan/obj/src/lib/registry_blob.o: src/lib/registry_blob.c \
 src/lib/registry_int.h src/lib/registry.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h src/lib/http.h \
 src/util/dynbuf.h src/lib/auth.h src/lib/retry.h src/util/strutil.h
src/lib/registry_int.h:
src/lib/registry.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/auth.h:
src/lib/retry.h:
src/util/strutil.h:
