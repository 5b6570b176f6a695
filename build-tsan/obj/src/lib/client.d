build-tsan/obj/src/lib/client.o: src/lib/client.c \
 include/beampush/client.h include/beampush/common.h \
 include/beampush/credentials.h include/beampush/digest.h \
 include/beampush/reference.h src/lib/auth.h src/lib/http.h \
 src/util/dynbuf.h src/lib/retry.h src/lib/client.h src/lib/registry.h \
 src/lib/store_daemon.h src/util/strutil.h
include/beampush/client.h:
include/beampush/common.h:
include/beampush/credentials.h:
include/beampush/digest.h:
include/beampush/reference.h:
src/lib/auth.h:
src/lib/http.h:
src/util/dynbuf.h:
src/lib/retry.h:
src/lib/client.h:
src/lib/registry.h:
src/lib/store_daemon.h:
src/util/strutil.h:
