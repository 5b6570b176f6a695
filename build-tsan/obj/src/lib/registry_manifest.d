build-tsan/obj/src/lib/registry_manifest.o: src/lib/registry_manifest.c \
 src/lib/registry_int.h src/lib/registry.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h src/lib/http.h \
 src/util/dynbuf.h src/lib/auth.h src/lib/retry.h src/util/strutil.h \
 include/beampush/manifest.h
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
include/beampush/manifest.h:
